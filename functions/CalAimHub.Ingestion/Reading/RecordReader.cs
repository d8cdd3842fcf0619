namespace CalAimHub.Ingestion.Reading;

/// <summary>
/// The source step: reads a partner file one record at a time, never the whole file. Row numbers are what a partner sees in
/// a spreadsheet: the header is row 1, the first data record row 2 (a quoted field spanning lines is still one row).
/// </summary>
public abstract class RecordReader : IAsyncDisposable
{
    /// <summary>Header cells, trimmed.</summary>
    public abstract IReadOnlyList<string> Headers { get; }

    /// <summary>Row number of the current record.</summary>
    public int RowNumber { get; protected set; } = 1;

    /// <summary>Number of fields in the current record (may differ from the header count in a malformed CSV).</summary>
    public abstract int FieldCount { get; }

    /// <summary>Field <paramref name="index"/> of the current record, trimmed; empty when the record is shorter.</summary>
    public abstract string this[int index] { get; }

    /// <summary>
    /// Field <paramref name="index"/> of the current record, trimmed, as characters (empty when the record is shorter): valid
    /// until the next call on this reader. Readers override it to avoid a string per field.
    /// </summary>
    public virtual ReadOnlySpan<char> Field(int index) => this[index];

    /// <summary>
    /// False only when the reader knows that no field read so far or in the current record holds U+FFFD (the character invalid
    /// UTF-8 decodes to) or NUL, so the per-field check for them can be skipped.
    /// </summary>
    public virtual bool MayHoldInvalidCharacters => true;

    /// <summary>The current record was longer than the reader takes as one row: it has no fields, and is a row problem.</summary>
    public virtual bool IsTooLong => false;

    /// <summary>True when every field of the current record is empty or white space (a blank line, or a row of bare delimiters).</summary>
    public virtual bool IsBlank()
    {
        for (var i = 0; i < FieldCount; i++)
        {
            if (this[i].Length > 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Moves to the next record; false at the end. Throws <see cref="FileStructureException"/> on a record that cannot be read.</summary>
    public abstract ValueTask<bool> ReadAsync(CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();
}

/// <summary>A file that cannot be read on from <see cref="Row"/> (unbalanced quote, invalid UTF-8 …).</summary>
public sealed class FileStructureException(string rule, int row, string message) : Exception(message)
{
    public string Rule { get; } = rule;
    public int Row { get; } = row;
}
