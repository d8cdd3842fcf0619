using System.Text.Json.Serialization;

namespace CalAimHub.Ingestion.Validation;

/// <summary>One thing wrong with a file or a row, as a partner reads it in the result report. <see cref="Value"/> is masked when it is PHI.</summary>
public sealed record Problem(
    [property: JsonPropertyName("row")] int Row,
    [property: JsonPropertyName("column")] string? Column,
    [property: JsonPropertyName("value")] string? Value,
    [property: JsonPropertyName("rule")] string Rule,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("hint")] string Hint,
    [property: JsonPropertyName("severity")] string Severity = Problem.Error)
{
    public const string Error = "error";
    public const string Warning = "warning";

    /// <summary>A problem with the file as a whole (row 0 = no particular row; row 1 = the header).</summary>
    public static Problem File(string rule, string message, string hint, int row = 0, string? column = null) => new(row, column, null, rule, message, hint);
}

/// <summary>PHI never reaches a report or a log in clear: only its length and last two characters show.</summary>
public static class Masking
{
    public const int MaxShown = 80;

    public static string Mask(string value, bool phi)
    {
        if (!phi)
        {
            return value.Length <= MaxShown ? value : value[..MaxShown] + "…";
        }

        return value.Length <= 4 ? new string('*', value.Length) : new string('*', Math.Min(value.Length, 20) - 2) + value[^2..];
    }
}
