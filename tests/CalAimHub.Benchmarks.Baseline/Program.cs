var builder = WebApplication.CreateSlimBuilder(args);
if (builder.Configuration["FUNCTIONS_CUSTOMHANDLER_PORT"] is { Length: > 0 } port)
{
    builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
}

var app = builder.Build();
app.MapGet("/", () => "ready");
app.Run();
