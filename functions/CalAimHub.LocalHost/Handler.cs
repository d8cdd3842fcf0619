using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using CalAimHub.Hosting.FunctionApp;

namespace CalAimHub.LocalHost;

/// <summary>The custom handler child process, started the way the Functions host starts it (host.json customHandler).</summary>
internal static partial class Handler
{
    public static async Task<(ChildProcess Process, Uri BaseAddress)> StartAsync(
        FunctionAppDefinition app,
        IReadOnlyDictionary<string, string> appSettings,
        ChildProcess.OutputLines output,
        Action<string>? sink,
        TimeSpan timeout,
        CancellationToken cancellationToken,
        int port = 0)
    {
        // A restart asks for its old port, but any free port will do if that one was taken.
        return await LoopbackListener.StartWhereFreeAsync(
            attempt => StartOnceAsync(app, appSettings, output, sink, timeout, attempt == 1 ? port : 0, cancellationToken), mayMove: true);
    }

    private static async Task<(ChildProcess Process, Uri BaseAddress)> StartOnceAsync(
        FunctionAppDefinition app,
        IReadOnlyDictionary<string, string> appSettings,
        ChildProcess.OutputLines output,
        Action<string>? sink,
        TimeSpan timeout,
        int port,
        CancellationToken cancellationToken)
    {
        var settings = app.Host.CustomHandler;
        var executable = app.ExecutablePath;
        if (!File.Exists(executable))
        {
            throw new LocalHubException(
                $"The handler executable {executable} does not exist (host.json customHandler.description.defaultExecutablePath = '{settings.ExecutablePath}'). " +
                "Build functions/CalAimHub.Functions first, or point --app at a function app folder.");
        }

        // A restart asks for its old port; if something else took it meanwhile, GET / would be answered by a stranger.
        if (port == 0 || await Azurite.IsListeningAsync(port, cancellationToken))
        {
            port = FreePort.Next();
        }

        var environment = new Dictionary<string, string>(appSettings, StringComparer.Ordinal)
        {
            ["FUNCTIONS_CUSTOMHANDLER_PORT"] = port.ToString(CultureInfo.InvariantCulture),
            ["FUNCTIONS_HTTPWORKER_PORT"] = port.ToString(CultureInfo.InvariantCulture),
            ["FUNCTIONS_CUSTOMHANDLER_WORKER_ID"] = Guid.NewGuid().ToString(),
            ["FUNCTIONS_APP_ROOT_PATH"] = app.Directory,
        };
        environment.TryAdd("ASPNETCORE_ENVIRONMENT", "Development");
        environment["FUNCTIONS_HTTPWORKER_ID"] = environment["FUNCTIONS_CUSTOMHANDLER_WORKER_ID"];

        var workingDirectory = Path.GetFullPath(Path.Combine(app.Directory, settings.WorkingDirectory));
        var arguments = settings.Arguments.Select(a => ExpandAppSettings(a, environment));
        ChildProcess process;
        try
        {
            process = ChildProcess.Start(executable, arguments, workingDirectory, environment, sink, output);
        }
        catch (Win32Exception e)
        {
            throw new LocalHubException($"The handler executable {executable} could not be started: {e.Message}.");
        }

        var baseAddress = new Uri($"http://127.0.0.1:{port}/");
        try
        {
            await WaitUntilReadyAsync(baseAddress, timeout, () => process.HasExited ? process.ExitCode : null, output, cancellationToken);
            LoopbackListener.EnsureHeldBy(process.Id, port, $"The handler (process {process.Id})");
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }

        return (process, baseAddress);
    }

    /// <summary>The host's readiness rule: any HTTP answer to <c>GET /</c> means ready; only connection errors mean not yet.</summary>
    public static async Task WaitUntilReadyAsync(
        Uri baseAddress,
        TimeSpan timeout,
        Func<int?> exitCode,
        ChildProcess.OutputLines? output,
        CancellationToken cancellationToken)
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var response = await client.GetAsync(baseAddress, cancellationToken);
                return;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }

            string LastOutput() => output is null
                ? ""
                : $" Last output:{Environment.NewLine}{string.Join(Environment.NewLine, output.Last(20))}";
            if (exitCode() is { } code)
            {
                throw new LocalHubException($"The handler process exited with code {code} before it answered GET {baseAddress}.{LastOutput()}");
            }

            if (stopwatch.Elapsed > timeout)
            {
                throw new LocalHubException($"The handler did not answer GET {baseAddress} within {timeout.TotalSeconds:0} s.{LastOutput()}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>host.json arguments may name app settings as <c>%NAME%</c>.</summary>
    internal static string ExpandAppSettings(string value, IReadOnlyDictionary<string, string> settings) =>
        AppSettingReference().Replace(value, m =>
            settings.TryGetValue(m.Groups[1].Value, out var v) ? v : Environment.GetEnvironmentVariable(m.Groups[1].Value) ?? m.Value);

    [GeneratedRegex("%([A-Za-z0-9_:.-]+)%")]
    private static partial Regex AppSettingReference();
}
