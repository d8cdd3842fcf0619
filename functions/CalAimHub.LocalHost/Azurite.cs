using System.ComponentModel;
using System.Diagnostics;
using System.Net.Sockets;

namespace CalAimHub.LocalHost;

/// <summary>Azurite (blob, queue, table) from the repository's own node_modules, on loopback ports.</summary>
public sealed class Azurite : IAsyncDisposable
{
    public const string AccountName = "devstoreaccount1";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly ChildProcess _process;

    private Azurite(ChildProcess process, int blobPort, int queuePort, int tablePort)
    {
        _process = process;
        BlobPort = blobPort;
        QueuePort = queuePort;
        TablePort = tablePort;
    }

    public int BlobPort { get; }
    public int QueuePort { get; }
    public int TablePort { get; }
    public int ProcessId => _process.Id;

    public string ConnectionString => BuildConnectionString(BlobPort, QueuePort, TablePort);

    public static string BuildConnectionString(int blobPort, int queuePort, int tablePort) =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{blobPort}/{AccountName};" +
        $"QueueEndpoint=http://127.0.0.1:{queuePort}/{AccountName};" +
        $"TableEndpoint=http://127.0.0.1:{tablePort}/{AccountName};";

    /// <summary>
    /// An in-memory Azurite on free ports from the repository's own npm install, for tests and benchmarks (<paramref name="environment"/>
    /// adds variables to the Node process, e.g. a larger heap).
    /// </summary>
    public static Task<Azurite> StartInMemoryAsync(string repositoryRoot, IReadOnlyDictionary<string, string>? environment = null, CancellationToken cancellationToken = default) =>
        StartAsync(repositoryRoot, null, (0, 0, 0), TimeSpan.FromSeconds(60), "npm", _ => { }, cancellationToken, environment);

    public static string ExecutablePath(string repositoryRoot) => Path.Combine(repositoryRoot, "node_modules", ".bin", "azurite");

    public static async Task<Azurite> StartAsync(
        string repositoryRoot,
        string? dataDirectory,
        (int Blob, int Queue, int Table) ports,
        TimeSpan timeout,
        string npmCommand,
        Action<string> log,
        CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var executable = await EnsureInstalledAsync(repositoryRoot, npmCommand, log, cancellationToken);
        // Only ports this host chose itself may be swapped for others.
        return await LoopbackListener.StartWhereFreeAsync(
            _ => StartOnceAsync(executable, repositoryRoot, dataDirectory, ports, timeout, cancellationToken, environment), mayMove: ports == (0, 0, 0), log);
    }

    private static async Task<Azurite> StartOnceAsync(
        string executable,
        string repositoryRoot,
        string? dataDirectory,
        (int Blob, int Queue, int Table) ports,
        TimeSpan timeout,
        CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? environment)
    {
        var blobPort = ports.Blob == 0 ? FreePort.Next() : ports.Blob;
        var queuePort = ports.Queue == 0 ? FreePort.Next() : ports.Queue;
        var tablePort = ports.Table == 0 ? FreePort.Next() : ports.Table;
        foreach (var port in new[] { blobPort, queuePort, tablePort })
        {
            if (await IsListeningAsync(port, cancellationToken))
            {
                throw new LocalHubException(
                    $"Azurite cannot start: port {port} on 127.0.0.1 is already in use (is another 'hub run' or Azurite running?).");
            }
        }

        var arguments = new List<string>
        {
            "--blobPort", blobPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--queuePort", queuePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--tablePort", tablePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (dataDirectory is null)
        {
            arguments.Add("--inMemoryPersistence");
        }
        else
        {
            Directory.CreateDirectory(dataDirectory);
            arguments.AddRange(["--location", dataDirectory]);
        }

        arguments.AddRange(["--skipApiVersionCheck", "--disableTelemetry", "--silent", "--loose"]);
        var process = ChildProcess.Start(
            executable,
            arguments,
            dataDirectory ?? repositoryRoot,
            environment ?? new Dictionary<string, string>());
        var azurite = new Azurite(process, blobPort, queuePort, tablePort);
        try
        {
            await azurite.WaitUntilListeningAsync(timeout, cancellationToken);
        }
        catch
        {
            await azurite.DisposeAsync();
            throw;
        }

        return azurite;
    }

    private async Task WaitUntilListeningAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        foreach (var port in new[] { BlobPort, QueuePort, TablePort })
        {
            while (!await IsListeningAsync(port, cancellationToken))
            {
                if (_process.HasExited)
                {
                    throw new LocalHubException(
                        $"Azurite exited with code {_process.ExitCode} before it was listening. Last output:{Environment.NewLine}" +
                        string.Join(Environment.NewLine, _process.Output.Last(20)));
                }

                if (stopwatch.Elapsed > timeout)
                {
                    throw new LocalHubException(
                        $"Azurite did not open ports {BlobPort}, {QueuePort} and {TablePort} within {timeout.TotalSeconds:0} s. Last output:{Environment.NewLine}" +
                        string.Join(Environment.NewLine, _process.Output.Last(20)));
                }

                await Task.Delay(100, cancellationToken);
            }

            LoopbackListener.EnsureHeldBy(_process.Id, port, $"Azurite (process {_process.Id})");
        }
    }

    internal static async Task<bool> IsListeningAsync(int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(1));
            await client.ConnectAsync(System.Net.IPAddress.Loopback, port, timeout.Token);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>node_modules/.bin/azurite, installed with <c>npm ci</c> (package-lock.json pins the version) when missing.</summary>
    internal static async Task<string> EnsureInstalledAsync(string repositoryRoot, string npmCommand, Action<string> log, CancellationToken cancellationToken)
    {
        var executable = ExecutablePath(repositoryRoot);
        if (File.Exists(executable))
        {
            return executable;
        }

        log($"Azurite is not installed yet ({executable} is missing): running '{npmCommand} ci' in {repositoryRoot} (first run only, about a minute) …");
        var started = Stopwatch.StartNew();
        int exitCode;
        try
        {
            await using var npm = ChildProcess.Start(
                npmCommand,
                ["ci", "--no-audit", "--no-fund"],
                repositoryRoot,
                new Dictionary<string, string>(),
                line => log("npm: " + line));
            await npm.WaitForExitAsync(cancellationToken);
            exitCode = npm.ExitCode;
        }
        catch (Win32Exception e)
        {
            throw new LocalHubException(
                $"Azurite is not installed ({executable} is missing) and '{npmCommand}' could not be started to install it: {e.Message}. Install Node.js/npm, then run 'npm ci' in {repositoryRoot}.");
        }

        if (exitCode != 0 || !File.Exists(executable))
        {
            throw new LocalHubException(
                $"Azurite is not installed ({executable} is missing) and '{npmCommand} ci' in {repositoryRoot} did not install it (exit code {exitCode}). Run 'npm ci' in the repository root and check its output.");
        }

        log($"Azurite installed in {started.Elapsed.TotalSeconds:0} s.");
        return executable;
    }

    public async ValueTask DisposeAsync() => await _process.DisposeAsync();
}

internal static class FreePort
{
    private static readonly HashSet<int> Given = [];

    /// <summary>
    /// A free loopback port not handed out before by this process: the OS may return a port it just released, and
    /// Azurite's blob and table services were once given the same one (the table service then failed to start).
    /// </summary>
    public static int Next()
    {
        for (var attempt = 0; ; attempt++)
        {
            using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
            listener.Start();
            var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
            lock (Given)
            {
                if (Given.Add(port) || attempt >= 20)
                {
                    return port;
                }
            }
        }
    }
}

/// <summary>The local host cannot start or run; the message says why and what to do.</summary>
public class LocalHubException(string message) : Exception(message);
