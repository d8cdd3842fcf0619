using System.Globalization;
using CalAimHub.Ingestion.Formats;
using CalAimHub.Ingestion.Reading;

namespace CalAimHub.Ingestion.Validation;

/// <summary>
/// The filter step: checks one record against a schema (types, required and conditional fields, code lists, cross-field
/// rules) and normalizes its values (dates yyyy-MM-dd, codes canonical, NPI/TIN digits). Built once per file.
/// </summary>
public sealed class RowValidator
{
    private readonly FileSchema _schema;
    private readonly ColumnDefinition[] _columns;
    private readonly int[] _indexes;
    private readonly CodeSet?[] _codeSets;
    private readonly Dictionary<string, int> _byName;
    private readonly ServiceCodeTable _serviceCodes;
    private readonly DateOnly _today;
    private readonly int _headerCount;

    public RowValidator(SchemaMatch match, IReadOnlyDictionary<string, CodeSet> codeSets, ServiceCodeTable serviceCodes, DateOnly today, int headerCount)
    {
        _schema = match.Schema;
        _columns = [.. match.Schema.Columns];
        _indexes = match.ColumnIndexes;
        _codeSets = _columns.Select(c => c.Codes is { } name ? codeSets[name] : null).ToArray();
        _byName = _columns.Select((c, i) => (c.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.OrdinalIgnoreCase);
        _serviceCodes = serviceCodes;
        _today = today;
        _headerCount = headerCount;
    }

    public FileSchema Schema => _schema;

    public int ColumnOf(string name) => _byName[name];

    /// <summary>Validates the reader's current record into <paramref name="values"/> (one per schema column); adds its problems.</summary>
    public bool Validate(RecordReader record, string[] values, List<Problem> problems)
    {
        var before = problems.Count;
        var row = record.RowNumber;
        if (record.FieldCount != _headerCount)
        {
            problems.Add(new Problem(row, null, null, Rules.CsvColumnCount,
                $"row has {record.FieldCount} fields, the header has {_headerCount}",
                "check for an unquoted delimiter inside a value (quote the value) or a missing/extra delimiter"));
            return false;
        }

        var valid = new bool[_columns.Length];
        for (var i = 0; i < _columns.Length; i++)
        {
            var raw = _indexes[i] >= 0 ? record[_indexes[i]] : "";
            values[i] = raw;
            valid[i] = raw.Length == 0 || CheckType(i, raw, row, values, problems);
        }

        for (var i = 0; i < _columns.Length; i++)
        {
            if (values[i].Length == 0)
            {
                CheckRequired(i, row, values, problems);
            }
        }

        foreach (var rule in _schema.Rules)
        {
            switch (rule.Rule)
            {
                case "date-order":
                    var start = _byName[rule.Start!];
                    var end = _byName[rule.End!];
                    if (valid[start] && valid[end] && values[start].Length > 0 && values[end].Length > 0 &&
                        string.CompareOrdinal(values[end], values[start]) < 0)
                    {
                        problems.Add(Problem(row, end, values[end], Rules.DateOrder,
                            $"'{_columns[end].Name}' is before '{_columns[start].Name}'",
                            $"'{_columns[end].Name}' must be on or after '{_columns[start].Name}'; swap them or correct the dates"));
                    }

                    break;
                case "service-code":
                    CheckServiceCode(rule, row, values, valid, problems);
                    break;
            }
        }

        return problems.Count == before;
    }

    private void CheckRequired(int i, int row, string[] values, List<Problem> problems)
    {
        var column = _columns[i];
        if (column.Required)
        {
            problems.Add(Problem(row, i, "", Rules.Required, $"'{column.Name}' is required", $"fill in '{column.Name}'" + TypeHint(i)));
        }
        else if (column.RequiredWhen is { } when && Holds(when, values))
        {
            var condition = when.Present ? $"'{when.Column}' has a value" : $"'{when.Column}' is {string.Join(" or ", when.In)}";
            problems.Add(Problem(row, i, "", Rules.RequiredWhen, $"'{column.Name}' is required when {condition}",
                $"fill in '{column.Name}'" + TypeHint(i) + $", or clear '{when.Column}'"));
        }
        else if (column.RequiredUnless is { } other && values[_byName[other]].Length == 0)
        {
            problems.Add(Problem(row, i, "", Rules.RequiredUnless, $"'{column.Name}' or '{other}' is required",
                $"fill in '{column.Name}' or '{other}'"));
        }
    }

    public bool Holds(ColumnCondition condition, string[] values)
    {
        var value = values[_byName[condition.Column]];
        if (condition.Present || value.Length == 0)
        {
            return value.Length > 0;
        }

        foreach (var candidate in condition.In)
        {
            if (string.Equals(candidate, value, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private string TypeHint(int i) => _columns[i].Type switch
    {
        ColumnType.Date => " as MM/DD/YYYY",
        ColumnType.Code => $" with one of: {_codeSets[i]!.Hint()}",
        _ => "",
    };

    private Problem Problem(int row, int column, string value, string rule, string message, string hint) =>
        new(row, _columns[column].Name, value.Length == 0 ? null : Masking.Mask(value, _columns[column].Phi), rule, message, hint);

    private bool CheckType(int i, string raw, int row, string[] values, List<Problem> problems)
    {
        var column = _columns[i];
        bool Fail(string rule, string message, string hint)
        {
            problems.Add(Problem(row, i, raw, rule, $"'{column.Name}' {message}", hint));
            return false;
        }

        if (raw.Contains('\uFFFD', StringComparison.Ordinal))
        {
            return Fail(Rules.InvalidCharacters, "holds bytes that are not UTF-8 text", "save the file as 'CSV UTF-8' and check the value for characters from another encoding (e.g. Windows-1252)");
        }

        if (column.MaxLength is { } max && raw.Length > max)
        {
            return Fail(Rules.TooLong, $"is {raw.Length} characters long; at most {max} are allowed", $"shorten it to {max} characters");
        }

        switch (column.Type)
        {
            case ColumnType.Date:
                if (!TryDate(raw, out var date))
                {
                    return Fail(Rules.Date, "is not a date in MM/DD/YYYY form", "write the date as MM/DD/YYYY, e.g. 07/15/2025");
                }

                if (column.NotFuture && date > _today)
                {
                    return Fail(Rules.DateFuture, "is in the future", $"use a date on or before {_today:MM/dd/yyyy}, the day the file was processed");
                }

                values[i] = IsoDate(date);
                return true;
            case ColumnType.Month:
                if (!TryMonth(raw, out var month))
                {
                    return Fail(Rules.Month, "is not a month in MM/YYYY form", "write the reporting period as MM/YYYY, e.g. 07/2025");
                }

                values[i] = month;
                return true;
            case ColumnType.Cin:
                var cin = raw.ToUpperInvariant();
                if (!Identifiers.IsCin(cin))
                {
                    return Fail(Rules.Cin, "is not a Medi-Cal CIN", "a CIN is 9 characters: 8 digits followed by a letter, e.g. 91234567A");
                }

                values[i] = cin;
                return true;
            case ColumnType.Npi:
                if (!Identifiers.IsNpi(raw))
                {
                    return Fail(Rules.Npi, raw.Length == 10 && raw.All(char.IsAsciiDigit) ? "fails the NPI check digit" : "is not a 10-digit NPI",
                        "copy the 10-digit NPI from NPPES; its last digit is a Luhn check digit over 80840 + the first 9 digits");
                }

                return true;
            case ColumnType.Tin:
                if (Identifiers.NormalizeTin(raw) is not { } tin)
                {
                    return Fail(Rules.Tin, "is not a valid TIN", "write the 9-digit EIN as NN-NNNNNNN (or 9 digits); prefixes like 00 or 07 are never issued");
                }

                values[i] = tin;
                return true;
            case ColumnType.Integer:
                if (!long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
                {
                    return Fail(Rules.Integer, "is not a whole number", "write digits only, e.g. 3");
                }

                return InRange(integer) || Fail(Rules.Range, $"is outside {column.Min}–{column.Max}", $"use a value from {column.Min} to {column.Max}");
            case ColumnType.Decimal:
                var number = raw.StartsWith('$') ? raw[1..] : raw;
                if (!decimal.TryParse(number, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign | NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out var dec))
                {
                    return Fail(Rules.Decimal, "is not a number", "write a number such as 125.50 (no currency symbols other than a leading $)");
                }

                values[i] = dec.ToString(CultureInfo.InvariantCulture);
                return InRange(dec) || Fail(Rules.Range, $"is outside {column.Min}–{column.Max}", $"use a value from {column.Min} to {column.Max}");
            case ColumnType.Phone:
                Span<char> digits = stackalloc char[16];
                var count = 0;
                foreach (var c in raw)
                {
                    if (char.IsAsciiDigit(c))
                    {
                        if (count == digits.Length)
                        {
                            return Fail(Rules.Phone, "is not a 10-digit US phone number", "write it as (555) 555-0100 or 5555550100");
                        }

                        digits[count++] = c;
                    }
                    else if (c is not (' ' or '(' or ')' or '-' or '.' or '+'))
                    {
                        return Fail(Rules.Phone, "is not a 10-digit US phone number", "write it as (555) 555-0100 or 5555550100");
                    }
                }

                var phone = count == 11 && digits[0] == '1' ? digits[1..11] : digits[..count];
                if (phone.Length != 10)
                {
                    return Fail(Rules.Phone, "is not a 10-digit US phone number", "write it as (555) 555-0100 or 5555550100");
                }

                values[i] = raw.Length == 10 && count == 10 ? raw : new string(phone);
                return true;
            case ColumnType.Zip:
                if (!(raw.Length == 5 && raw.All(char.IsAsciiDigit)) && !(raw.Length == 10 && raw[5] == '-' && raw.Remove(5, 1).All(char.IsAsciiDigit)))
                {
                    return Fail(Rules.Zip, "is not a ZIP code", "write 5 digits or ZIP+4 as 12345-6789");
                }

                return true;
            case ColumnType.Email:
                var at = raw.IndexOf('@', StringComparison.Ordinal);
                if (at <= 0 || at != raw.LastIndexOf('@') || raw.IndexOf('.', at) < at + 2 || raw.EndsWith('.') || raw.Contains(' ', StringComparison.Ordinal))
                {
                    return Fail(Rules.Email, "is not an email address", "write it as name@example.org");
                }

                return true;
            case ColumnType.State:
                if (raw.Length != 2 || !raw.All(char.IsAsciiLetter))
                {
                    return Fail(Rules.State, "is not a 2-letter state code", "write the USPS code, e.g. CA");
                }

                values[i] = raw.ToUpperInvariant();
                return true;
            case ColumnType.Code:
                if (_codeSets[i]!.Canonical(raw) is not { } code)
                {
                    var set = _codeSets[i]!;
                    return Fail(Rules.Code, $"is not in code set {set.Name} (version {set.Version})", $"use one of: {set.Hint()}");
                }

                values[i] = code;
                return true;
            case ColumnType.Hcpcs:
                var hcpcs = raw.ToUpperInvariant();
                if (hcpcs.Length != 5 || !char.IsAsciiLetter(hcpcs[0]) || !hcpcs[1..].All(char.IsAsciiDigit))
                {
                    return Fail(Rules.Hcpcs, "is not a HCPCS code", "write the 5-character HCPCS Level II code, e.g. G9012");
                }

                values[i] = hcpcs;
                return true;
            case ColumnType.Modifier:
                var modifier = raw.ToUpperInvariant();
                if (modifier.Length != 2 || !modifier.All(char.IsAsciiLetterOrDigit))
                {
                    return Fail(Rules.Modifier, "is not a 2-character modifier", "write one modifier per column, e.g. U6");
                }

                values[i] = modifier;
                return true;
            default:
                return true;
        }

        bool InRange(decimal value) => (column.Min is not { } min || value >= min) && (column.Max is not { } max2 || value <= max2);
    }

    /// <summary>HCPCS code + modifiers against the DHCS ECM/CS table, checking every modifier slot, as DHCS requires.</summary>
    private void CheckServiceCode(CrossFieldRule rule, int row, string[] values, bool[] valid, List<Problem> problems)
    {
        var codeColumn = _byName[rule.Code!];
        var code = values[codeColumn];
        if (code.Length == 0 || !valid[codeColumn])
        {
            return;
        }

        if (!_serviceCodes.HasCode(code))
        {
            problems.Add(Problem(row, codeColumn, code, Rules.HcpcsUnknown,
                $"HCPCS code '{code}' is not an ECM or Community Supports code in {_serviceCodes.Name} version {_serviceCodes.Version}",
                "use a code from the DHCS ECM and Community Supports HCPCS Coding Guidance, e.g. G9012 (ECM) or H0043 (housing navigation)"));
            return;
        }

        var entries = _serviceCodes.ForCode(code).ToArray();
        var allowed = entries.SelectMany(e => e.Modifiers.Concat(e.Optional)).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var allowedText = string.Join(", ", entries.Select(e => e.Describe()));
        var seen = new List<string>();
        var ok = true;
        foreach (var slot in rule.Modifiers)
        {
            var column = _byName[slot];
            var modifier = values[column];
            if (modifier.Length == 0 || !valid[column])
            {
                ok &= modifier.Length == 0;
                continue;
            }

            if (!allowed.Contains(modifier))
            {
                problems.Add(Problem(row, column, modifier, Rules.ModifierNotAllowed,
                    $"modifier '{modifier}' is not allowed with {code} in the DHCS ECM/CS table",
                    $"{code} takes: {allowedText}; remove '{modifier}' from '{_columns[column].Name}'"));
                ok = false;
            }
            else if (seen.Contains(modifier, StringComparer.OrdinalIgnoreCase))
            {
                problems.Add(Problem(row, column, modifier, Rules.ModifierRepeated,
                    $"modifier '{modifier}' appears in more than one modifier column",
                    $"list each modifier once; remove it from '{_columns[column].Name}'"));
                ok = false;
            }

            seen.Add(modifier);
        }

        if (ok && _serviceCodes.Match(code, seen) is null)
        {
            var first = rule.Modifiers.Select(m => _byName[m]).First();
            problems.Add(Problem(row, seen.Count == 0 ? first : first, string.Join("+", seen), Rules.ModifierCombination,
                seen.Count == 0 ? $"{code} needs a modifier that names the service" : $"{code} with {string.Join("+", seen)} is not a service in the DHCS ECM/CS table",
                $"{code} takes: {allowedText}"));
        }
    }

    /// <summary>MM/DD/YYYY (also M/D/YYYY, MM-DD-YYYY) or YYYY-MM-DD, years 1900–2100. Hand-parsed: it runs for every date cell.</summary>
    public static bool TryDate(string raw, out DateOnly date)
    {
        date = default;
        var s = raw.AsSpan();
        int year, month, day;
        if (s.Length == 10 && s[4] == '-' && s[7] == '-')
        {
            if (!Number(s[..4], out year) || !Number(s.Slice(5, 2), out month) || !Number(s.Slice(8, 2), out day))
            {
                return false;
            }
        }
        else
        {
            var first = s.IndexOfAny('/', '-');
            if (first is < 1 or > 2)
            {
                return false;
            }

            var separator = s[first];
            var rest = s[(first + 1)..];
            var second = rest.IndexOf(separator);
            if (second is < 1 or > 2 || rest.Length - second - 1 != 4 ||
                !Number(s[..first], out month) || !Number(rest[..second], out day) || !Number(rest[(second + 1)..], out year))
            {
                return false;
            }
        }

        if (year is < 1900 or > 2100 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month))
        {
            return false;
        }

        date = new DateOnly(year, month, day);
        return true;
    }

    /// <summary>MM/YYYY (also M/YYYY, YYYY-MM, YYYYMM, MMYYYY) → yyyy-MM.</summary>
    private static bool TryMonth(string raw, out string month)
    {
        month = "";
        var s = raw.AsSpan();
        int y, m;
        var slash = s.IndexOf('/');
        if (slash is 1 or 2 && s.Length - slash - 1 == 4)
        {
            if (!Number(s[..slash], out m) || !Number(s[(slash + 1)..], out y))
            {
                return false;
            }
        }
        else if (s.Length == 7 && s[4] == '-')
        {
            if (!Number(s[..4], out y) || !Number(s[5..], out m))
            {
                return false;
            }
        }
        else if (s.Length == 6 && Number(s, out _))
        {
            var yearFirst = s[0] == '2';
            if (!Number(yearFirst ? s[..4] : s[2..], out y) || !Number(yearFirst ? s[4..] : s[..2], out m))
            {
                return false;
            }
        }
        else
        {
            return false;
        }

        if (y is < 2000 or > 2100 || m is < 1 or > 12)
        {
            return false;
        }

        month = string.Create(7, (y, m), static (span, v) =>
        {
            v.y.TryFormat(span, out _, "0000", CultureInfo.InvariantCulture);
            span[4] = '-';
            v.m.TryFormat(span[5..], out _, "00", CultureInfo.InvariantCulture);
        });
        return true;
    }

    private static bool Number(ReadOnlySpan<char> digits, out int value)
    {
        value = 0;
        if (digits.IsEmpty)
        {
            return false;
        }

        foreach (var c in digits)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
    }

    private static string IsoDate(DateOnly date) => string.Create(10, date, static (span, d) =>
    {
        d.Year.TryFormat(span, out _, "0000", CultureInfo.InvariantCulture);
        span[4] = '-';
        d.Month.TryFormat(span[5..], out _, "00", CultureInfo.InvariantCulture);
        span[7] = '-';
        d.Day.TryFormat(span[8..], out _, "00", CultureInfo.InvariantCulture);
    });
}
