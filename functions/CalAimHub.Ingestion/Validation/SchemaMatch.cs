using CalAimHub.Ingestion.Formats;
using CalAimHub.Ingestion.Reading;

namespace CalAimHub.Ingestion.Validation;

/// <summary>Which layout a header row is, and where each schema column sits in it.</summary>
public sealed record SchemaMatch(FileSchema Schema, int[] ColumnIndexes, IReadOnlyList<Problem> Problems)
{
    public bool Rejected => Problems.Any(p => p.Severity == Problem.Error);

    public static string Normalize(string header) => string.Join(' ', header.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    /// <summary>
    /// Picks the candidate layout that has the most of its columns in the header (its <c>detect</c> headers break ties), then
    /// reports what is missing (required columns: reject) or unknown (ignored: warning). A rejected header is first explained
    /// as a whole when it can be: split by another delimiter than the one it was read with (<c>file.delimiter</c>), or not a
    /// header at all but a row of data (<c>header.missing</c>), instead of a list of consequences (missing, duplicated columns).
    /// </summary>
    /// <param name="delimiter">The CSV delimiter the header was read with; null for a workbook.</param>
    public static SchemaMatch Choose(IReadOnlyList<FileSchema> candidates, IReadOnlyList<string> headers, char? delimiter = null)
    {
        var match = ChooseLayout(candidates, headers);
        if (!match.Rejected)
        {
            return match;
        }

        if (delimiter is { } used && OtherDelimiter(candidates, headers, used) is { } found)
        {
            return match with
            {
                Problems = [Problem.File(Rules.FileDelimiter, $"the header row is separated by {DelimiterNames.Name(found)}, not by {DelimiterNames.Name(used)}",
                    found == ';'
                        ? "save the file as 'CSV UTF-8 (Comma delimited)': the hub reads comma, tab or pipe separated files (Excel writes semicolons where the region's list separator is ';')"
                        : $"use one delimiter in the whole file: the first line holds more {DelimiterNames.Name(used)} than {DelimiterNames.Name(found)}; quote header cells that contain them", 1)],
            };
        }

        if (LooksLikeData(candidates, headers))
        {
            var layouts = string.Join(" or ", candidates.Select(s => s.Id));
            return match with
            {
                Problems = [Problem.File(Rules.HeaderMissing, $"the header row is missing: row 1 holds data (dates, numbers, codes) and none of the column names of {layouts}",
                    $"add the header row as the first line: the column names of {layouts}, e.g. '{match.Schema.Columns[0].Name}', '{match.Schema.Columns[1].Name}', …", 1)],
            };
        }

        return match;
    }

    /// <summary>How many columns of its best layout a header names.</summary>
    private static int Known(IReadOnlyList<FileSchema> candidates, IEnumerable<string> headers)
    {
        var names = headers.Select(Normalize).ToHashSet(StringComparer.OrdinalIgnoreCase);
        return candidates.Max(s => s.Columns.Count(c => names.Contains(c.Name)));
    }

    /// <summary>A delimiter that splits the header line into more known columns (at least two) than the one it was read with.</summary>
    private static char? OtherDelimiter(IReadOnlyList<FileSchema> candidates, IReadOnlyList<string> headers, char used)
    {
        var line = string.Join(used, headers);
        var known = Known(candidates, headers);
        return DelimiterNames.Candidates
            .Where(d => d != used)
            .Select(d => (Delimiter: d, Known: Known(candidates, line.Split(d))))
            .Where(x => x.Known >= 2 && x.Known > known)
            .OrderByDescending(x => x.Known)
            .Select(x => (char?)x.Delimiter)
            .FirstOrDefault();
    }

    /// <summary>
    /// No cell names a column of any layout, and some hold what data rows hold: dates, numbers, identifiers (digits and
    /// punctuation only) or nothing. Checked only when the header is rejected anyway.
    /// </summary>
    private static bool LooksLikeData(IReadOnlyList<FileSchema> candidates, IReadOnlyList<string> headers)
    {
        if (headers.Count == 0 || Known(candidates, headers) > 0)
        {
            return false;
        }

        var data = headers.Count(h => h.Length == 0 || RowValidator.TryDate(h, out _) || (h.Any(char.IsAsciiDigit) && !h.Any(char.IsLetter)) || IsCinLike(h));
        return data >= 2 || data * 4 >= headers.Count;
    }

    private static bool IsCinLike(string cell) => cell.Length == 9 && cell[..8].All(char.IsAsciiDigit) && char.IsAsciiLetter(cell[8]);

    private static SchemaMatch ChooseLayout(IReadOnlyList<FileSchema> candidates, IReadOnlyList<string> headers)
    {
        var positions = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var problems = new List<Problem>();
        for (var i = 0; i < headers.Count; i++)
        {
            var header = Normalize(headers[i]);
            if (header.Length == 0)
            {
                continue;
            }

            if (!positions.TryAdd(header, i))
            {
                problems.Add(new Problem(1, header, null, Rules.HeaderDuplicateColumn,
                    $"column '{header}' appears twice in the header (columns {positions[header] + 1} and {i + 1})",
                    "keep one column with this header and remove or rename the other"));
            }
        }

        var schema = candidates
            .OrderByDescending(s => s.Columns.Count(c => positions.ContainsKey(c.Name)))
            .ThenByDescending(s => s.Detect.Count(positions.ContainsKey))
            .First();
        var indexes = schema.Columns.Select(c => positions.TryGetValue(c.Name, out var i) ? i : -1).ToArray();
        foreach (var column in schema.Columns.Where((c, i) => c.Required && indexes[i] < 0))
        {
            problems.Add(new Problem(1, column.Name, null, Rules.HeaderMissingColumn,
                $"required column '{column.Name}' is not in the header (layout {schema.Id})",
                $"add a column headed exactly '{column.Name}' (see schema {schema.Name}, version {schema.Version})"));
        }

        var known = schema.Columns.Select(c => c.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var header in positions.Keys.Where(h => !known.Contains(h)))
        {
            problems.Add(new Problem(1, header, null, Rules.HeaderUnknownColumn,
                $"column '{header}' is not part of layout {schema.Id}; its values are ignored",
                "check the header's spelling against the schema, or ask the hub team to add the column to your partner profile",
                Problem.Warning));
        }

        return new SchemaMatch(schema, indexes, problems);
    }
}
