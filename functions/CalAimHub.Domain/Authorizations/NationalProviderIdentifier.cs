namespace CalAimHub.Domain.Authorizations;

/// <summary>
/// NPI check: 10 digits whose last digit is the Luhn check digit of the first nine prefixed with 80840 (the
/// ISO card-issuer prefix CMS assigned to US health identifiers). Catches one mistyped digit and most transpositions.
/// </summary>
public static class NationalProviderIdentifier
{
    private const string HealthIdentifierPrefix = "80840";

    /// <summary>Null when valid, else why not (for the problem+json detail).</summary>
    public static string? Problem(string? npi)
    {
        if (string.IsNullOrEmpty(npi))
        {
            return "is required: the requesting provider's 10-digit NPI";
        }

        if (npi.Length != 10 || !npi.All(char.IsAsciiDigit))
        {
            return "must be exactly 10 digits";
        }

        return LuhnValid(HealthIdentifierPrefix + npi) ? null : "fails the NPI check digit (Luhn with prefix 80840); check for a mistyped digit";
    }

    public static bool IsValid(string? npi) => Problem(npi) is null;

    private static bool LuhnValid(string digits)
    {
        var sum = 0;
        var doubleIt = false;
        for (var i = digits.Length - 1; i >= 0; i--)
        {
            var d = digits[i] - '0';
            if (doubleIt)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
            doubleIt = !doubleIt;
        }

        return sum % 10 == 0;
    }
}
