namespace CalAimHub.Ingestion.Validation;

/// <summary>Checks for the identifiers on CalAIM files.</summary>
public static class Identifiers
{
    /// <summary>Medi-Cal Client Index Number: 9 characters, 8 digits then a letter (e.g. 91234567A).</summary>
    public static bool IsCin(ReadOnlySpan<char> value) =>
        value.Length == 9 && value[..8].IndexOfAnyExceptInRange('0', '9') < 0 && char.IsAsciiLetter(value[8]);

    /// <summary>
    /// National Provider Identifier: 10 digits whose last is the Luhn check digit computed over the 9 digits prefixed with
    /// 80840 (the NPI's ISO 7812 issuer prefix), per CMS's NPI check-digit standard.
    /// </summary>
    public static bool IsNpi(ReadOnlySpan<char> value)
    {
        if (value.Length != 10 || value.IndexOfAnyExceptInRange('0', '9') >= 0)
        {
            return false;
        }

        // Luhn over "80840" + first 9 digits: the prefix contributes a constant 24 to the sum.
        var sum = 24;
        for (var i = 8; i >= 0; i--)
        {
            var d = value[i] - '0';
            if ((8 - i) % 2 == 0)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
        }

        var check = (10 - (sum % 10)) % 10;
        return value[9] - '0' == check;
    }

    /// <summary>The check digit that makes <paramref name="nineDigits"/> a valid NPI (test data, generators).</summary>
    public static char NpiCheckDigit(string nineDigits)
    {
        for (var c = '0'; c <= '9'; c++)
        {
            if (IsNpi(nineDigits + c))
            {
                return c;
            }
        }

        throw new ArgumentException("not 9 digits", nameof(nineDigits));
    }

    /// <summary>
    /// Taxpayer Identification Number (EIN or SSN form): 9 digits, optionally written NN-NNNNNNN or NNN-NN-NNNN; not all one
    /// digit, and not an EIN prefix the IRS never assigns (00, 07–09, 17–19, 28–29, 49, 69–70, 78–79, 89, 96–97).
    /// Returns the 9 digits, or null.
    /// </summary>
    public static string? NormalizeTin(string value)
    {
        Span<char> digits = stackalloc char[9];
        return TryNormalizeTin(value, digits) ? new string(digits) : null;
    }

    /// <summary><see cref="NormalizeTin(string)"/> into <paramref name="digits"/> (9 characters), without allocating.</summary>
    public static bool TryNormalizeTin(ReadOnlySpan<char> value, Span<char> digits)
    {
        var n = 0;
        foreach (var c in value)
        {
            if (c == '-')
            {
                continue;
            }

            if (!char.IsAsciiDigit(c) || n == 9)
            {
                return false;
            }

            digits[n++] = c;
        }

        if (n != 9 || value.Length is not (9 or 10 or 11) || (value.Length == 10 && value[2] != '-') || (value.Length == 11 && (value[3] != '-' || value[6] != '-')))
        {
            return false;
        }

        if (digits.IndexOfAnyExcept(digits[0]) < 0)
        {
            return false;
        }

        var prefix = ((digits[0] - '0') * 10) + (digits[1] - '0');
        if (value.Length != 11 && prefix is 0 or 7 or 8 or 9 or 17 or 18 or 19 or 28 or 29 or 49 or 69 or 70 or 78 or 79 or 89 or 96 or 97)
        {
            return false;
        }

        return true;
    }
}
