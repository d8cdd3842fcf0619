using CalAimHub.Ingestion.Formats;

namespace CalAimHub.Ingestion.Validation;

/// <summary>Which layout a header row is, and where each schema column sits in it.</summary>
public sealed record SchemaMatch(FileSchema Schema, int[] ColumnIndexes, IReadOnlyList<Problem> Problems)
{
    public bool Rejected => Problems.Any(p => p.Severity == Problem.Error);

    public static string Normalize(string header) => string.Join(' ', header.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    /// <summary>
    /// Picks the candidate layout that has the most of its columns in the header (its <c>detect</c> headers break ties), then
    /// reports what is missing (required columns: reject) or unknown (ignored: warning).
    /// </summary>
    public static SchemaMatch Choose(IReadOnlyList<FileSchema> candidates, IReadOnlyList<string> headers)
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
