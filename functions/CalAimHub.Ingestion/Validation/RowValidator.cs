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
    private readonly int[] _whenColumn;
    private readonly int[] _unlessColumn;
    private readonly (CrossFieldRule Rule, int Start, int End)[] _rules;
    private readonly StringPool?[] _pools;
    private readonly bool[] _valid;
    private bool[] _keep;
    private readonly Kind[] _types;
    private readonly bool[] _checksRequired;
    private bool _mayHoldInvalid = true;
    private readonly bool _isoDates;
    private readonly bool[] _openEnded;

    /// <summary>Column types resolved once per file (a switch on the type name per field cost more than the check).</summary>
    private enum Kind : byte { Other, Date, Month, Cin, Npi, Tin, Integer, Decimal, Phone, Zip, Email, State, Code, Hcpcs, Modifier }

    /// <param name="isoDates">The partner declared ISO dates (YYYY-MM-DD) for this kind: accepted besides MM/DD/YYYY.</param>
    public RowValidator(SchemaMatch match, IReadOnlyDictionary<string, CodeSet> codeSets, ServiceCodeTable serviceCodes, DateOnly today, int headerCount, bool isoDates = false)
    {
        _isoDates = isoDates;
        _schema = match.Schema;
        _columns = [.. match.Schema.Columns];
        _indexes = match.ColumnIndexes;
        _codeSets = _columns.Select(c => c.Codes is { } name ? codeSets[name] : null).ToArray();
        _byName = _columns.Select((c, i) => (c.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.OrdinalIgnoreCase);
        _serviceCodes = serviceCodes;
        _today = today;
        _headerCount = headerCount;

        // Everything that does not depend on the row is resolved once per file: condition columns, rule columns, pools.
        _whenColumn = _columns.Select(c => c.RequiredWhen is { } when ? _byName[when.Column] : -1).ToArray();
        _unlessColumn = _columns.Select(c => c.RequiredUnless is { } other ? _byName[other] : -1).ToArray();
        _rules = _schema.Rules.Select(r => r.Rule switch
        {
            "date-order" => (r, _byName[r.Start!], _byName[r.End!]),
            _ => (r, -1, -1),
        }).ToArray();
        _pools = _columns.Select(c => StringPool.Worth(c) ? new StringPool() : null).ToArray();
        _valid = new bool[_columns.Length];
        _checksRequired = _columns.Select(c => c.Required || c.RequiredWhen is not null || c.RequiredUnless is not null).ToArray();
        _types = _columns.Select(c => c.Type switch
        {
            ColumnType.Date => Kind.Date,
            ColumnType.Month => Kind.Month,
            ColumnType.Cin => Kind.Cin,
            ColumnType.Npi => Kind.Npi,
            ColumnType.Tin => Kind.Tin,
            ColumnType.Integer => Kind.Integer,
            ColumnType.Decimal => Kind.Decimal,
            ColumnType.Phone => Kind.Phone,
            ColumnType.Zip => Kind.Zip,
            ColumnType.Email => Kind.Email,
            ColumnType.State => Kind.State,
            ColumnType.Code => Kind.Code,
            ColumnType.Hcpcs => Kind.Hcpcs,
            ColumnType.Modifier => Kind.Modifier,
            _ => Kind.Other,
        }).ToArray();
        _keep = Enumerable.Repeat(true, _columns.Length).ToArray();

        // Optional end dates of a period: empty means the period has not ended (no 12/31/9999-style stand-in).
        _openEnded = _columns.Select(c => !c.Required && _schema.Rules.Any(r => r.Rule == "date-order" && string.Equals(r.End, c.Name, StringComparison.OrdinalIgnoreCase))).ToArray();
    }

    public FileSchema Schema => _schema;

    public int ColumnOf(string name) => _byName[name];

    /// <summary>
    /// Stands in for a value that passed its checks but was not copied out of the record (see <see cref="KeepOnly"/>): not
    /// empty, so required checks see it as present; never compared, stored or reported.
    /// </summary>
    internal const string NotKept = "\u0000";

    /// <summary>
    /// Columns whose rule-checking or later steps read the value: conditions (requiredWhen / requiredUnless) and cross-field
    /// rules. The channel adds the key and event columns before calling <see cref="KeepOnly"/>.
    /// </summary>
    internal IEnumerable<int> ColumnsReadByRules()
    {
        foreach (var i in _whenColumn.Concat(_unlessColumn).Where(i => i >= 0))
        {
            yield return i;
        }

        foreach (var rule in _schema.Rules)
        {
            foreach (var name in new[] { rule.Start, rule.End, rule.Code }.Concat(rule.Modifiers))
            {
                if (name is not null)
                {
                    yield return _byName[name];
                }
            }
        }
    }

    /// <summary>
    /// When nothing is stored (a dry run), only these columns' values are copied out of the record as strings; the others are
    /// checked on the record's own buffer and left as <see cref="NotKept"/> (or "" when empty). Problems are identical.
    /// </summary>
    internal void KeepOnly(IEnumerable<int> columns)
    {
        var keep = new bool[_columns.Length];
        foreach (var i in columns)
        {
            keep[i] = true;
        }

        _keep = keep;
    }

    /// <summary>Validates the reader's current record into <paramref name="values"/> (one per schema column); adds its problems.</summary>
    public bool Validate(RecordReader record, string[] values, List<Problem> problems)
    {
        var before = problems.Count;
        var row = record.RowNumber;
        if (record.IsTooLong)
        {
            problems.Add(new Problem(row, null, null, Rules.CsvRecordTooLong,
                string.Create(CultureInfo.InvariantCulture, $"record too long: the row is longer than {CsvRecordReader.MaxRecordChars:N0} characters, the most one row may hold"),
                "check the row for a value pasted many times over or a missing line break; the rows after it were read"));
            return false;
        }

        if (record.FieldCount != _headerCount)
        {
            problems.Add(new Problem(row, null, null, Rules.CsvColumnCount,
                $"row has {record.FieldCount} fields, the header has {_headerCount}",
                ColumnCountHint(record)));
            return false;
        }

        var valid = _valid;
        _mayHoldInvalid = record.MayHoldInvalidCharacters;
        for (var i = 0; i < _columns.Length; i++)
        {
            var raw = _indexes[i] >= 0 ? record.Field(_indexes[i]) : default;
            if (raw.IsEmpty)
            {
                values[i] = "";
                valid[i] = true;
            }
            else
            {
                valid[i] = CheckType(i, raw, row, values, problems);
            }
        }

        for (var i = 0; i < _columns.Length; i++)
        {
            if (_checksRequired[i] && values[i].Length == 0)
            {
                CheckRequired(i, row, values, problems);
            }
        }

        foreach (var (rule, start, end) in _rules)
        {
            switch (rule.Rule)
            {
                case "date-order":
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
        else if (column.RequiredWhen is { } when && Holds(when, _whenColumn[i], values))
        {
            var condition = when.Present ? $"'{when.Column}' has a value" : $"'{when.Column}' is {string.Join(" or ", when.In)}";
            problems.Add(Problem(row, i, "", Rules.RequiredWhen, $"'{column.Name}' is required when {condition}",
                $"fill in '{column.Name}'" + TypeHint(i) + $", or clear '{when.Column}'"));
        }
        else if (column.RequiredUnless is { } other && values[_unlessColumn[i]].Length == 0)
        {
            problems.Add(Problem(row, i, "", Rules.RequiredUnless, $"'{column.Name}' or '{other}' is required",
                $"fill in '{column.Name}' or '{other}'"));
        }
    }

    public bool Holds(ColumnCondition condition, string[] values) => Holds(condition, _byName[condition.Column], values);

    /// <summary><see cref="Holds(ColumnCondition, string[])"/> with the condition's column already resolved.</summary>
    internal static bool Holds(ColumnCondition condition, int column, string[] values)
    {
        var value = values[column];
        if (condition.Present || value.Length == 0)
        {
            return value.Length > 0;
        }

        var candidates = condition.In;
        for (var k = 0; k < candidates.Count; k++)
        {
            if (string.Equals(candidates[k], value, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A row of one field that another delimiter splits into the header's width: name that delimiter.</summary>
    private string ColumnCountHint(RecordReader record)
    {
        if (record.FieldCount == 1 && _headerCount > 1)
        {
            var line = record.Field(0);
            foreach (var delimiter in DelimiterNames.Candidates)
            {
                if (line.Count(delimiter) == _headerCount - 1)
                {
                    return $"the row is separated by {DelimiterNames.Name(delimiter)}, the header is not: use one delimiter in the whole file";
                }
            }
        }

        return "check for an unquoted delimiter inside a value (quote the value) or a missing/extra delimiter";
    }

    private string TypeHint(int i) => _columns[i].Type switch
    {
        ColumnType.Date => " as MM/DD/YYYY",
        ColumnType.Code => $" with one of: {_codeSets[i]!.Hint()}",
        _ => "",
    };

    private Problem Problem(int row, int column, string value, string rule, string message, string hint) =>
        new(row, _columns[column].Name, value.Length == 0 ? null : Masking.Mask(value, _columns[column].Phi), rule, message, hint);

    /// <summary>A value as stored: pooled for short repeated values, a new string otherwise, <see cref="NotKept"/> when not needed.</summary>
    private string Keep(int i, ReadOnlySpan<char> value) =>
        !_keep[i] ? NotKept : _pools[i] is { } pool ? pool.Get(value) : new string(value);

    /// <summary>
    /// Type checks on the record's own characters (no string per field); only a value that is kept is copied out, and a failing
    /// value is copied for its problem. Normalized values are as before: dates yyyy-MM-dd, months yyyy-MM, codes canonical …
    /// </summary>
    private bool CheckType(int i, ReadOnlySpan<char> raw, int row, string[] values, List<Problem> problems)
    {
        var column = _columns[i];
        if (_mayHoldInvalid && raw.IndexOfAny('\uFFFD', '\0') >= 0)
        {
            if (raw.Contains('\0'))
            {
                return Fail(i, raw, row, values, problems, Rules.NulCharacter, "holds a NUL character (byte 0x00)",
                    "remove the NUL bytes (often padding from a fixed-width or binary export); a CSV value holds text only");
            }

            return Fail(i, raw, row, values, problems, Rules.InvalidCharacters, "holds bytes that are not UTF-8 text", "save the file as 'CSV UTF-8' and check the value for characters from another encoding (e.g. Windows-1252)");
        }

        if (column.MaxLength is { } max && raw.Length > max)
        {
            return Fail(i, raw, row, values, problems, Rules.TooLong, $"is {raw.Length} characters long; at most {max} are allowed", $"shorten it to {max} characters");
        }

        switch (_types[i])
        {
            case Kind.Date:
                var parsed = ParseDate(raw, out var date, out var iso);
                if (parsed == DateParse.NotADate)
                {
                    return Fail(i, raw, row, values, problems, Rules.Date, "is not a date in MM/DD/YYYY form", "write the date as MM/DD/YYYY, e.g. 07/15/2025");
                }

                if (iso && !_isoDates)
                {
                    // Not guessed: the schema says MM/DD/YYYY, and a partner whose files are all ISO declares it in its profile.
                    var spelled = date.ToString("MM/dd/yyyy", CultureInfo.InvariantCulture);
                    return Fail(i, raw, row, values, problems, Rules.Date, "is written YYYY-MM-DD; this column takes MM/DD/YYYY",
                        (column.Phi ? "write the date as MM/DD/YYYY (2025-07-15 is 07/15/2025)" : $"write {spelled}") +
                        $", or ask the hub team to declare ISO dates for your {_schema.Kind} files");
                }

                if (parsed == DateParse.OutOfRange)
                {
                    return Fail(i, raw, row, values, problems, Rules.DateRange, "is outside the dates the hub accepts (01/01/1900 to 12/31/2100)",
                        _openEnded[i] && date > MaxDate
                            ? $"leave '{column.Name}' empty while the period has no end; an open-ended period has no end date, not a far-future one"
                            : "write the real date, from 01/01/1900 to 12/31/2100");
                }

                if (column.NotFuture && date > _today)
                {
                    return Fail(i, raw, row, values, problems, Rules.DateFuture, "is in the future", $"use a date on or before {_today:MM/dd/yyyy}, the day the file was processed");
                }

                values[i] = _keep[i] ? IsoDate(date) : NotKept;
                return true;
            case Kind.Month:
                if (!TryMonth(raw, out var month))
                {
                    return Fail(i, raw, row, values, problems, Rules.Month, "is not a month in MM/YYYY form", "write the reporting period as MM/YYYY, e.g. 07/2025");
                }

                values[i] = _keep[i] ? month : NotKept;
                return true;
            case Kind.Cin:
            {
                // ToUpperInvariant keeps the length, so a value that is not 9 characters is not a CIN either way.
                Span<char> cin = stackalloc char[9];
                if (raw.Length != 9 || raw.ToUpperInvariant(cin) != 9 || !Identifiers.IsCin(cin))
                {
                    return Fail(i, raw, row, values, problems, Rules.Cin, "is not a Medi-Cal CIN", "a CIN is 9 characters: 8 digits followed by a letter, e.g. 91234567A");
                }

                values[i] = Keep(i, cin);
                return true;
            }
            case Kind.Npi:
                if (!Identifiers.IsNpi(raw))
                {
                    return Fail(i, raw, row, values, problems, Rules.Npi, raw.Length == 10 && raw.IndexOfAnyExceptInRange('0', '9') < 0 ? "fails the NPI check digit" : "is not a 10-digit NPI",
                        "copy the 10-digit NPI from NPPES; its last digit is a Luhn check digit over 80840 + the first 9 digits");
                }

                values[i] = Keep(i, raw);
                return true;
            case Kind.Tin:
            {
                Span<char> tin = stackalloc char[9];
                if (!Identifiers.TryNormalizeTin(raw, tin))
                {
                    return Fail(i, raw, row, values, problems, Rules.Tin, "is not a valid TIN", "write the 9-digit EIN as NN-NNNNNNN (or 9 digits); prefixes like 00 or 07 are never issued");
                }

                values[i] = Keep(i, tin);
                return true;
            }
            case Kind.Integer:
                if (!long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
                {
                    return Fail(i, raw, row, values, problems, Rules.Integer, "is not a whole number", "write digits only, e.g. 3");
                }

                if (!InRange(column, integer))
                {
                    return Fail(i, raw, row, values, problems, Rules.Range, RangeMessage(column), RangeHint(column));
                }

                values[i] = Keep(i, raw);
                return true;
            case Kind.Decimal:
                var number = raw.StartsWith('$') ? raw[1..] : raw;
                if (!decimal.TryParse(number, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign | NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out var dec))
                {
                    return Fail(i, raw, row, values, problems, Rules.Decimal, "is not a number", "write a number such as 125.50 (no currency symbols other than a leading $)");
                }

                if (!InRange(column, dec))
                {
                    // As before: the value holds the normalized number, the problem shows the raw text.
                    var normalized = dec.ToString(CultureInfo.InvariantCulture);
                    values[i] = normalized;
                    problems.Add(Problem(row, i, raw.ToString(), Rules.Range, $"'{column.Name}' {RangeMessage(column)}", RangeHint(column)));
                    return false;
                }

                values[i] = _keep[i] ? dec.ToString(CultureInfo.InvariantCulture) : NotKept;
                return true;
            case Kind.Phone:
            {
                Span<char> digits = stackalloc char[16];
                var count = 0;
                foreach (var c in raw)
                {
                    if (char.IsAsciiDigit(c))
                    {
                        if (count == digits.Length)
                        {
                            return Fail(i, raw, row, values, problems, Rules.Phone, "is not a 10-digit US phone number", "write it as (555) 555-0100 or 5555550100");
                        }

                        digits[count++] = c;
                    }
                    else if (c is not (' ' or '(' or ')' or '-' or '.' or '+'))
                    {
                        return Fail(i, raw, row, values, problems, Rules.Phone, "is not a 10-digit US phone number", "write it as (555) 555-0100 or 5555550100");
                    }
                }

                var phone = count == 11 && digits[0] == '1' ? digits[1..11] : digits[..count];
                if (phone.Length != 10)
                {
                    return Fail(i, raw, row, values, problems, Rules.Phone, "is not a 10-digit US phone number", "write it as (555) 555-0100 or 5555550100");
                }

                values[i] = Keep(i, phone);
                return true;
            }
            case Kind.Zip:
                if (!(raw.Length == 5 && raw.IndexOfAnyExceptInRange('0', '9') < 0) &&
                    !(raw.Length == 10 && raw[5] == '-' && raw[..5].IndexOfAnyExceptInRange('0', '9') < 0 && raw[6..].IndexOfAnyExceptInRange('0', '9') < 0))
                {
                    return Fail(i, raw, row, values, problems, Rules.Zip, "is not a ZIP code", "write 5 digits or ZIP+4 as 12345-6789");
                }

                values[i] = Keep(i, raw);
                return true;
            case Kind.Email:
                var at = raw.IndexOf('@');
                var dot = at < 0 ? -1 : raw[at..].IndexOf('.');
                if (at <= 0 || at != raw.LastIndexOf('@') || dot < 0 || dot + at < at + 2 || raw.EndsWith('.') || raw.Contains(' '))
                {
                    return Fail(i, raw, row, values, problems, Rules.Email, "is not an email address", "write it as name@example.org");
                }

                values[i] = Keep(i, raw);
                return true;
            case Kind.State:
            {
                if (raw.Length != 2 || raw.IndexOfAnyExcept(AsciiLetters) >= 0)
                {
                    return Fail(i, raw, row, values, problems, Rules.State, "is not a 2-letter state code", "write the USPS code, e.g. CA");
                }

                Span<char> state = stackalloc char[2];
                raw.ToUpperInvariant(state);
                values[i] = Keep(i, state);
                return true;
            }
            case Kind.Code:
                if (_codeSets[i]!.Canonical(raw) is not { } code)
                {
                    var set = _codeSets[i]!;
                    return Fail(i, raw, row, values, problems, Rules.Code, $"is not in code set {set.Name} (version {set.Version})", $"use one of: {set.Hint()}");
                }

                values[i] = code;
                return true;
            case Kind.Hcpcs:
            {
                Span<char> hcpcs = stackalloc char[5];
                if (raw.Length != 5 || raw.ToUpperInvariant(hcpcs) != 5 || !char.IsAsciiLetter(hcpcs[0]) || hcpcs[1..].IndexOfAnyExceptInRange('0', '9') >= 0)
                {
                    return Fail(i, raw, row, values, problems, Rules.Hcpcs, "is not a HCPCS code", "write the 5-character HCPCS Level II code, e.g. G9012");
                }

                values[i] = Keep(i, hcpcs);
                return true;
            }
            case Kind.Modifier:
            {
                Span<char> modifier = stackalloc char[2];
                if (raw.Length != 2 || raw.ToUpperInvariant(modifier) != 2 || modifier.IndexOfAnyExcept(AsciiLettersOrDigits) >= 0)
                {
                    return Fail(i, raw, row, values, problems, Rules.Modifier, "is not a 2-character modifier", "write one modifier per column, e.g. U6");
                }

                values[i] = Keep(i, modifier);
                return true;
            }
            default:
                values[i] = Keep(i, raw);
                return true;
        }

    }

    private static bool InRange(ColumnDefinition column, decimal value) =>
        (column.Min is not { } min || value >= min) && (column.Max is not { } max || value <= max);

    // A column may set only one bound (counts have a minimum of 0 and no maximum): say only the bounds there are.
    private static string RangeMessage(ColumnDefinition column) => (column.Min, column.Max) switch
    {
        ({ } min, { } max) => $"is outside {min}–{max}",
        ({ } min, null) => $"is less than {min}",
        (null, { } max) => $"is more than {max}",
        _ => "is out of range",
    };

    private static string RangeHint(ColumnDefinition column) => (column.Min, column.Max) switch
    {
        ({ } min, { } max) => $"use a value from {min} to {max}",
        ({ } min, null) => $"use {min} or more",
        (null, { } max) => $"use {max} or less",
        _ => "check the value",
    };

    /// <summary>A failed type check: the raw value stays in <paramref name="values"/> (as before) and the problem is added.</summary>
    private bool Fail(int i, ReadOnlySpan<char> raw, int row, string[] values, List<Problem> problems, string rule, string message, string hint)
    {
        var text = raw.ToString();
        values[i] = text;
        // A NUL shown as U+2400 (the symbol for NUL): a report or its CSV never carries the control character itself.
        problems.Add(Problem(row, i, text.Replace('\0', '\u2400'), rule, $"'{_columns[i].Name}' {message}", hint));
        return false;
    }

    private static readonly System.Buffers.SearchValues<char> AsciiLetters =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    private static readonly System.Buffers.SearchValues<char> AsciiLettersOrDigits =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");

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

    private static readonly DateOnly MaxDate = new(2100, 12, 31);

    private enum DateParse : byte { NotADate, OutOfRange, Valid }

    /// <summary>
    /// MM/DD/YYYY (also M/D/YYYY, MM-DD-YYYY) or YYYY-MM-DD (<paramref name="iso"/>), years 1900–2100. Hand-parsed: it runs for
    /// every date cell.
    /// </summary>
    public static bool TryDate(ReadOnlySpan<char> s, out DateOnly date) => ParseDate(s, out date, out _) == DateParse.Valid;

    /// <summary>A real calendar date outside 1900–2100 is <see cref="DateParse.OutOfRange"/> (with <paramref name="date"/> set), not "not a date".</summary>
    private static DateParse ParseDate(ReadOnlySpan<char> s, out DateOnly date, out bool iso)
    {
        date = default;
        int year, month, day;
        iso = s.Length == 10 && s[4] == '-' && s[7] == '-';
        if (iso)
        {
            if (!Number(s[..4], out year) || !Number(s.Slice(5, 2), out month) || !Number(s.Slice(8, 2), out day))
            {
                return DateParse.NotADate;
            }
        }
        else
        {
            var first = s.IndexOfAny('/', '-');
            if (first is < 1 or > 2)
            {
                return DateParse.NotADate;
            }

            var separator = s[first];
            var rest = s[(first + 1)..];
            var second = rest.IndexOf(separator);
            if (second is < 1 or > 2 || rest.Length - second - 1 != 4 ||
                !Number(s[..first], out month) || !Number(rest[..second], out day) || !Number(rest[(second + 1)..], out year))
            {
                return DateParse.NotADate;
            }
        }

        if (year is < 1 or > 9999 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month))
        {
            return DateParse.NotADate;
        }

        date = new DateOnly(year, month, day);
        return year is < 1900 or > 2100 ? DateParse.OutOfRange : DateParse.Valid;
    }

    /// <summary>MM/YYYY (also M/YYYY, YYYY-MM, YYYYMM, MMYYYY) → yyyy-MM.</summary>
    private static bool TryMonth(ReadOnlySpan<char> s, out string month)
    {
        month = "";
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

        // Months 2000-01 … 2100-12: one shared string each, made on first use.
        var slot = ((y - 2000) * 12) + m - 1;
        month = Months[slot] ??= string.Create(7, (y, m), static (span, v) =>
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

    private static readonly string?[] Months = new string?[101 * 12];

    private static readonly int FirstDay = new DateOnly(1900, 1, 1).DayNumber;

    /// <summary>Dates 1900-01-01 … 2100-12-31 (the only ones <see cref="TryDate(ReadOnlySpan{char}, out DateOnly)"/> accepts): one shared string each.</summary>
    private static readonly string?[] IsoDates = new string?[new DateOnly(2100, 12, 31).DayNumber - FirstDay + 1];

    private static string IsoDate(DateOnly date)
    {
        var slot = date.DayNumber - FirstDay;
        return (uint)slot < (uint)IsoDates.Length ? IsoDates[slot] ??= FormatIsoDate(date) : FormatIsoDate(date);
    }

    private static string FormatIsoDate(DateOnly date) => string.Create(10, date, static (span, d) =>
    {
        d.Year.TryFormat(span, out _, "0000", CultureInfo.InvariantCulture);
        span[4] = '-';
        d.Month.TryFormat(span[5..], out _, "00", CultureInfo.InvariantCulture);
        span[7] = '-';
        d.Day.TryFormat(span[8..], out _, "00", CultureInfo.InvariantCulture);
    });
}

/// <summary>
/// Short values that repeat (payer ids, NPIs, states, HCPCS codes, modifiers, ZIPs): one string per distinct value in a file
/// instead of one per row. Bounded: after <see cref="Capacity"/> distinct values it only looks up, and when most lookups miss
/// (the column is not repetitive after all) it stops being used.
/// </summary>
internal sealed class StringPool
{
    public const int Capacity = 4096;
    public const int MaxLength = 32;

    private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private int _hits;
    private int _misses;
    private bool _off;

    public StringPool() => _lookup = _strings.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Not PHI (a member's values are not kept around beyond the row) and a type whose values are short codes or ids.</summary>
    public static bool Worth(ColumnDefinition column) => !column.Phi && column.Type is ColumnType.Text or ColumnType.Npi or ColumnType.Tin
        or ColumnType.Zip or ColumnType.State or ColumnType.Hcpcs or ColumnType.Modifier or ColumnType.Integer;

    public string Get(ReadOnlySpan<char> value)
    {
        if (_off || value.Length > MaxLength)
        {
            return new string(value);
        }

        if (_lookup.TryGetValue(value, out var pooled))
        {
            _hits++;
            return pooled;
        }

        var made = new string(value);
        if (_strings.Count < Capacity)
        {
            _strings.Add(made, made);
        }
        else if (++_misses > 4 * (_hits + 1024))
        {
            _off = true;
            _strings.Clear();
            _strings.TrimExcess();
        }

        return made;
    }
}
