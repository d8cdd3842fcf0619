using System.Text.Json;

namespace CalAimHub.LocalHost.Tests;

/// <summary>The handler started as a child process from host.json, here a small Node.js server (node is there for Azurite).</summary>
public sealed class HandlerProcessTests : IDisposable
{
    private const string Script = """
        #!/usr/bin/env node
        const http = require('http');
        const port = process.env.FUNCTIONS_CUSTOMHANDLER_PORT;
        if (process.env.HANDLER_MODE === 'crash') { console.log('boom'); process.exit(3); }
        const server = http.createServer((req, res) => {
          if (req.url.startsWith('/api/env')) {
            res.setHeader('content-type', 'application/json');
            res.end(JSON.stringify({
              root: process.env.FUNCTIONS_APP_ROOT_PATH, storage: process.env.AzureWebJobsStorage,
              environment: process.env.ASPNETCORE_ENVIRONMENT, custom: process.env.Custom__Setting,
              local: process.env.FromLocalSettings, worker: process.env.FUNCTIONS_CUSTOMHANDLER_WORKER_ID,
              cwd: process.cwd(), args: process.argv.slice(2) }));
            return;
          }
          res.end('ok');
        });
        server.listen(port, '127.0.0.1', () => console.log('handler listening on ' + port));
        process.on('SIGTERM', () => { console.log('SIGTERM received'); server.close(() => process.exit(0)); });
        """;

    private readonly TestApp _app;
    private readonly string _repository;

    public HandlerProcessTests()
    {
        _app = TestApp.Create(new() { ["Env"] = TestApp.Http("env", "get") }, arguments: ["--greeting", "%Custom__Setting%"]);
        var script = Path.Combine(_app.Directory, "handler.js");
        File.WriteAllText(script, Script.ReplaceLineEndings("\n"));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        _repository = Path.Combine(Path.GetTempPath(), "hub-test-repo-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_repository);
        Directory.CreateSymbolicLink(Path.Combine(_repository, "node_modules"), Path.Combine(LocalHubOptions.DefaultRepositoryRoot, "node_modules"));
        File.WriteAllText(Path.Combine(_repository, "local.settings.json"),
            """{ "IsEncrypted": false, "Values": { "FromLocalSettings": "yes", "Custom__Setting": "from-local-settings" } }""");
    }

    public void Dispose()
    {
        _app.Dispose();
        Directory.Delete(_repository, recursive: true);
    }

    private LocalHubOptions Options(Dictionary<string, string> settings) => new()
    {
        AppDirectory = _app.Directory,
        RepositoryRoot = _repository,
        InMemoryStorage = true,
        HttpPort = 0,
        AppSettings = settings,
    };

    [Fact]
    public async Task The_handler_gets_the_host_environment_and_app_settings_its_output_is_captured_and_it_is_stopped_with_SIGTERM()
    {
        var hub = await LocalHub.StartAsync(Options(new() { ["Custom__Setting"] = "from-options" }));
        JsonDocument environment;
        await using (hub)
        {
            using var client = new HttpClient { BaseAddress = hub.ApiBaseAddress };
            environment = JsonDocument.Parse(await client.GetStringAsync("/api/env"));
            Assert.NotNull(hub.HandlerProcessId);
        }

        var root = environment.RootElement;
        Assert.Equal(_app.Directory, root.GetProperty("root").GetString());
        Assert.Equal(_app.Directory, root.GetProperty("cwd").GetString());
        Assert.Equal(hub.StorageConnectionString, root.GetProperty("storage").GetString());
        Assert.Contains("QueueEndpoint=http://127.0.0.1:", hub.StorageConnectionString, StringComparison.Ordinal);
        Assert.Equal("Development", root.GetProperty("environment").GetString());
        Assert.Equal("from-options", root.GetProperty("custom").GetString()); // options win over local.settings.json
        Assert.Equal("yes", root.GetProperty("local").GetString());
        Assert.True(Guid.TryParse(root.GetProperty("worker").GetString(), out _));
        Assert.Equal(new string?[] { "--greeting", "from-options" }, root.GetProperty("args").EnumerateArray().Select(a => a.GetString()).ToArray());
        var output = hub.HandlerOutput.ToArray();
        Assert.Contains($"handler listening on {hub.HandlerAddress.Port}", output);
        Assert.Equal("SIGTERM received", output[^1]);
    }

    [Fact]
    public async Task A_handler_that_exits_before_answering_fails_the_start_with_its_exit_code_and_last_output()
    {
        var error = await Assert.ThrowsAsync<LocalHubException>(() => LocalHub.StartAsync(Options(new() { ["HANDLER_MODE"] = "crash" })));

        Assert.Matches(@"^The handler process exited with code 3 before it answered GET http://127\.0\.0\.1:\d+/\. Last output:\nboom$", error.Message);
    }

    [Fact]
    public async Task A_missing_handler_executable_fails_the_start_with_what_to_do()
    {
        File.Delete(Path.Combine(_app.Directory, "handler.js"));

        var error = await Assert.ThrowsAsync<LocalHubException>(() => LocalHub.StartAsync(Options([])));

        Assert.Equal(
            $"The handler executable {Path.Combine(_app.Directory, "handler.js")} does not exist (host.json customHandler.description.defaultExecutablePath = 'handler.js'). " +
            "Build functions/CalAimHub.Functions first, or point --app at a function app folder.",
            error.Message);
    }
}
