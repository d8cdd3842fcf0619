namespace CalAimHub.Functions.Extensions;

/// <summary>
/// The 400 validation problem of the referral, webhook, provider and authorization routes: <c>errors</c> maps each field
/// to its messages and <c>detail</c> names the first. A payload can be wrong in thousands of places (a FHIR Bundle with
/// every element misspelt): the answer lists the first <see cref="MaxErrors"/> and counts the rest in
/// <c>moreErrors</c>, so a bad request cannot make a huge answer.
/// </summary>
public static class FieldProblems
{
    public const int MaxErrors = 100;

    public static IResult Invalid<T>(IReadOnlyList<T> errors, Func<T, string> field, Func<T, string> message, string title)
    {
        var shown = errors.Take(MaxErrors).ToList();
        var more = errors.Count - shown.Count;
        var detail = $"'{field(errors[0])}' {message(errors[0])}" + (errors.Count == 1
            ? ""
            : more > 0
                ? $" (and {errors.Count - 1} more; errors lists the first {MaxErrors}, moreErrors counts the rest)"
                : $" (and {errors.Count - 1} more; see errors)");
        return Results.ValidationProblem(
            shown.GroupBy(field, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(message).ToArray(), StringComparer.Ordinal),
            detail: detail,
            title: title,
            extensions: more > 0 ? new Dictionary<string, object?> { ["moreErrors"] = more } : null);
    }
}
