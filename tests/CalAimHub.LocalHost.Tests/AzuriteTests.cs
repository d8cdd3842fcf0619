namespace CalAimHub.LocalHost.Tests;

public sealed class AzuriteTests
{
    [Fact]
    public async Task Without_node_modules_and_with_npm_unable_to_install_the_start_fails_with_what_to_do()
    {
        var repository = Path.Combine(Path.GetTempPath(), "hub-test-empty-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(repository); // no package.json / package-lock.json: `npm ci` refuses at once
        using var app = TestApp.Create(new() { ["Health"] = TestApp.Http("health", "get") });
        var log = new List<string>();
        try
        {
            var error = await Assert.ThrowsAsync<LocalHubException>(() => LocalHub.StartAsync(
                Hubs.For(app, null, log) with { RepositoryRoot = repository, BlobPort = 0, QueuePort = 0, TablePort = 0 }));

            var executable = Path.Combine(repository, "node_modules", ".bin", "azurite");
            Assert.Equal(
                $"Azurite is not installed ({executable} is missing) and 'npm ci' in {repository} did not install it (exit code 1). Run 'npm ci' in the repository root and check its output.",
                error.Message);
            Assert.Contains($"Azurite is not installed yet ({executable} is missing): running 'npm ci' in {repository} (first run only, about a minute) …", Hubs.Snapshot(log));
            Assert.Contains(Hubs.Snapshot(log), l => l.StartsWith("npm: ", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(repository, recursive: true);
        }
    }

    [Fact]
    public async Task Without_npm_the_start_fails_with_what_to_install()
    {
        var repository = Path.Combine(Path.GetTempPath(), "hub-test-empty-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(repository);
        using var app = TestApp.Create(new() { ["Health"] = TestApp.Http("health", "get") });
        try
        {
            var error = await Assert.ThrowsAsync<LocalHubException>(() => LocalHub.StartAsync(
                Hubs.For(app, null) with { RepositoryRoot = repository, NpmCommand = "/nonexistent/npm" }));

            var executable = Path.Combine(repository, "node_modules", ".bin", "azurite");
            Assert.StartsWith($"Azurite is not installed ({executable} is missing) and '/nonexistent/npm' could not be started to install it: ", error.Message);
            Assert.EndsWith($". Install Node.js/npm, then run 'npm ci' in {repository}.", error.Message);
        }
        finally
        {
            Directory.Delete(repository, recursive: true);
        }
    }

    [Fact]
    public async Task A_port_in_use_is_reported_before_Azurite_starts()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        using var app = TestApp.Create(new() { ["Health"] = TestApp.Http("health", "get") });

        var error = await Assert.ThrowsAsync<LocalHubException>(() => LocalHub.StartAsync(Hubs.For(app, null) with { QueuePort = port }));

        Assert.Equal($"Azurite cannot start: port {port} on 127.0.0.1 is already in use (is another 'hub run' or Azurite running?).", error.Message);
    }

    [Fact]
    public void The_connection_string_uses_the_well_known_development_account_on_loopback()
    {
        Assert.Equal(
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
            "BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;QueueEndpoint=http://127.0.0.1:2/devstoreaccount1;TableEndpoint=http://127.0.0.1:3/devstoreaccount1;",
            Azurite.BuildConnectionString(1, 2, 3));
    }
}
