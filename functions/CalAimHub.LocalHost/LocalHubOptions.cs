using System.Reflection;

namespace CalAimHub.LocalHost;

/// <summary>How <see cref="LocalHub"/> runs the function app locally. Every property has a usable default.</summary>
public sealed record LocalHubOptions
{
    /// <summary>The function app folder (host.json, storage-layout.json, one folder per function, the handler executable).
    /// Default: the Functions project's build output baked into this assembly (<see cref="DefaultAppDirectory"/>).</summary>
    public string? AppDirectory { get; init; }

    /// <summary>Repository root: holds node_modules/azurite and .hub/. Default: <see cref="DefaultRepositoryRoot"/>.</summary>
    public string? RepositoryRoot { get; init; }

    /// <summary>Azurite's on-disk workspace. Default: &lt;repo&gt;/.hub/azurite. Ignored when <see cref="InMemoryStorage"/> is set.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Run Azurite with --inMemoryPersistence (nothing written to disk).</summary>
    public bool InMemoryStorage { get; init; }

    /// <summary>Use this storage account instead of starting Azurite (containers, queues and tables are still provisioned).</summary>
    public string? StorageConnectionString { get; init; }

    /// <summary>Port of the local Functions front door (http://127.0.0.1:port/api/...). 0 = any free port.</summary>
    public int HttpPort { get; init; } = 7071;

    /// <summary>Azurite ports; 0 = a free port.</summary>
    public int BlobPort { get; init; }
    public int QueuePort { get; init; }
    public int TablePort { get; init; }

    /// <summary>App settings for the handler process (environment variables), on top of local.settings.json Values.
    /// Keys starting with <c>AzureFunctionsJobHost__</c> also override host.json, as they do in Azure.</summary>
    public IReadOnlyDictionary<string, string> AppSettings { get; init; } = new Dictionary<string, string>();

    /// <summary>host.json overrides in configuration-key form, e.g. <c>extensions:queues:visibilityTimeout</c> = <c>00:00:00</c>.</summary>
    public IReadOnlyDictionary<string, string> HostOverrides { get; init; } = new Dictionary<string, string>();

    /// <summary>Test-only: NCRONTAB schedules (with seconds) that replace timer functions' own, by function name, e.g. a chaos
    /// trial that sweeps every 10 s instead of every 2 minutes so it settles in seconds. Azure has no such override: what
    /// ships is the function.json schedule.</summary>
    public IReadOnlyDictionary<string, string> TimerSchedules { get; init; } = new Dictionary<string, string>();

    /// <summary>Read &lt;repo&gt;/local.settings.json Values into the handler's environment (as Core Tools does).</summary>
    public bool UseLocalSettingsFile { get; init; } = true;

    /// <summary>Use an already-running handler at this base address (e.g. http://127.0.0.1:5123/) instead of starting
    /// host.json's executable. For tests with a stand-in handler.</summary>
    public Uri? HandlerUrl { get; init; }

    /// <summary>Handler processes to run, as Flex Consumption scales out: HTTP requests are spread over them round robin,
    /// every queue trigger polls in every instance, timers fire once (the host's singleton timer lock). Default 1, or the
    /// environment variable <c>HUB_INSTANCES</c>: that is how existing end-to-end suites run unchanged against N instances.</summary>
    public int Instances { get; init; } = DefaultInstances;

    public const string InstancesVariable = "HUB_INSTANCES";

    internal static int DefaultInstances =>
        int.TryParse(Environment.GetEnvironmentVariable(InstancesVariable), System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 1;

    /// <summary>Start a handler process again when it exits while the hub runs, as the Functions host restarts a worker
    /// (first after <see cref="HandlerRestartDelay"/>, doubling up to <see cref="HandlerRestartMaxDelay"/>).</summary>
    public bool RestartHandler { get; init; } = true;
    public TimeSpan HandlerRestartDelay { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan HandlerRestartMaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a received queue message stays invisible, renewed at half-time while its invocation runs, as the
    /// Functions host does (10 minutes there). Only tests shorten it.</summary>
    public TimeSpan QueueMessageLease { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Clock for timer schedules, timer waits and envelope timestamps. Queue and blob polling use real time.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>The hub's own log lines (never message bodies). Default: discarded.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Each line the handler writes to stdout/stderr, as it arrives (they are also kept in <see cref="LocalHub.HandlerOutput"/>).</summary>
    public Action<string>? HandlerOutputSink { get; init; }

    /// <summary>The staff member every HTTP request is signed in as (App Service authentication's part): the front door
    /// strips client-sent <c>X-MS-CLIENT-PRINCIPAL*</c> headers and sets this one. Null: requests reach the handler with
    /// no principal, as in Azure without a sign-in (staff routes answer 401). Default: <see cref="DevelopmentIdentity.Developer"/>.</summary>
    public DevelopmentIdentity? StaffIdentity { get; init; } = DevelopmentIdentity.Developer;

    /// <summary>Turn off parts of the host (e.g. a test that drives only HTTP).</summary>
    public bool EnableQueueTriggers { get; init; } = true;
    public bool EnableTimerTriggers { get; init; } = true;
    public bool EnableBlobEvents { get; init; } = true;

    /// <summary>Container watched for new blobs, and the queue that gets their Event Grid BlobCreated events.</summary>
    public string BlobEventContainer { get; init; } = "inbound";
    public string BlobEventQueue { get; init; } = "blob-created";
    public TimeSpan BlobPollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Timeouts: Azurite ports open, handler answers GET /, one invocation (host.json functionTimeout when set),
    /// in-flight invocations on stop.</summary>
    public TimeSpan AzuriteStartTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public TimeSpan HandlerStartTimeout { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan? InvocationTimeout { get; init; }
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The npm client used to install Azurite when node_modules/.bin/azurite is missing.</summary>
    public string NpmCommand { get; init; } = "npm";

    public static string DefaultAppDirectory => BakedPath("FunctionAppDirectory");

    public static string DefaultRepositoryRoot => BakedPath("RepositoryRoot");

    internal string ResolvedRepositoryRoot => Path.GetFullPath(RepositoryRoot ?? DefaultRepositoryRoot);

    internal string ResolvedAppDirectory => Path.GetFullPath(AppDirectory ?? DefaultAppDirectory);

    internal string ResolvedDataDirectory => Path.GetFullPath(DataDirectory ?? Path.Combine(ResolvedRepositoryRoot, ".hub", "azurite"));

    private static string BakedPath(string key) =>
        typeof(LocalHubOptions).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"The hub assembly has no '{key}' metadata; pass the path explicitly.");
}
