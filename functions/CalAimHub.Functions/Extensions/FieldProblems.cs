namespace CalAimHub.Functions.Extensions;

/// <summary>
/// The 400 validation problem of the referral, webhook, provider and authorization routes: <c>errors</c> maps each field
/// to its messages and <c>detail</c> names the first. The list is capped where every problem leaves the app
/// (<see cref="ProblemResponses.MaxListedErrors"/>, the rest counted in <c>moreErrors</c>), so a FHIR Bundle with every
/// element misspelt cannot make a huge answer.
/// </summary>
public static class FieldProblems
{
    public static IResult Invalid<T>(IReadOnlyList<T> errors, Func<T, string> field, Func<T, string> message, string title) =>
        Results.ValidationProblem(
            errors.GroupBy(field, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(message).ToArray(), StringComparer.Ordinal),
            detail: $"'{field(errors[0])}' {message(errors[0])}" + (errors.Count == 1 ? "" : $" (and {errors.Count - 1} more; see errors)"),
            title: title);
}
