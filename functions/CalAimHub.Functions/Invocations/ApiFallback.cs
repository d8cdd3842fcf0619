namespace CalAimHub.Functions.Invocations;

public static class ApiFallbackExtensions
{
    /// <summary>Anything under /api that no feature serves gets a problem+json 404, not an empty page.</summary>
    public static void MapApiFallback(this WebApplication app) =>
        app.MapFallback("/api/{*path}", (HttpRequest request) => Results.Problem(
            title: "No such API",
            detail: $"{request.Method} {request.Path} is not an API of this hub.",
            statusCode: StatusCodes.Status404NotFound));
}
