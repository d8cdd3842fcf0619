using System.Globalization;
using System.Text.Json;
using CalAimHub.Hosting.FunctionApp;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.LocalHost;

/// <summary>
/// The Functions host and Event Grid, played locally from the same host.json / function.json files: Azurite,
/// provisioned storage, the handler process, HTTP forwarding, queue and timer triggers, BlobCreated events.
/// Start with <see cref="StartAsync"/>; dispose to stop everything (listeners drained, handler and Azurite stopped).
/// </summary>
public sealed class LocalHub : IAsyncDisposable
{
    private readonly LocalHubOptions _options;
    private readonly Action<string> _log;
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _aborting = new();
    private readonly List<Task> _loops = [];
    private readonly ChildProcess.OutputLines _handlerOutput = new();
    private readonly List<FunctionInvoker> _invokers = [];
    private Azurite? _azurite;
    private HandlerInstances _instances = new([]);
    private FrontDoor? _frontDoor;
    private Task? _stopped;

    private LocalHub(LocalHubOptions options)
    {
        _options = options;
        _log = options.Log ?? (_ => { });
    }

    /// <summary>The front door, e.g. <c>http://127.0.0.1:7071</c>; functions are under <c>/{routePrefix}/...</c>.</summary>
    public Uri ApiBaseAddress => _frontDoor!.BaseAddress;

    /// <summary>Who the front door signs API requests in as (null: nobody).</summary>
    public DevelopmentIdentity? StaffIdentity => _options.StaffIdentity;

    /// <summary>The first handler instance's own address (<c>http://127.0.0.1:{FUNCTIONS_CUSTOMHANDLER_PORT}/</c>).</summary>
    public Uri HandlerAddress => _instances.All[0].Address;

    /// <summary>The handler instances (<see cref="LocalHubOptions.Instances"/>), with their processes and restarts.</summary>
    public IReadOnlyList<HandlerInstance> Instances => _instances.All;

    /// <summary>Raised after a handler instance was started again (from the supervising task).</summary>
    public event Action<HandlerInstance>? HandlerRestarted;

    public string StorageConnectionString { get; private set; } = "";

    /// <summary>Clients for the hub's storage, queue clients using host.json's messageEncoding.</summary>
    public StorageAccount Storage { get; private set; } = null!;

    /// <summary>The function app as loaded (host.json with overrides applied).</summary>
    public FunctionAppDefinition App { get; private set; } = null!;

    /// <summary>Every stdout/stderr line of the handler process so far (thread-safe snapshot on enumeration).</summary>
    public IReadOnlyCollection<string> HandlerOutput => _handlerOutput;

    /// <summary>The environment given to the handler (app settings, without the process environment it inherits).</summary>
    public IReadOnlyDictionary<string, string> HandlerSettings { get; private set; } = new Dictionary<string, string>();

    /// <summary>The first instance's current process id (null with an external handler or while it restarts).</summary>
    public int? HandlerProcessId => _instances.All[0].ProcessId;
    public int? AzuriteProcessId => _azurite?.ProcessId;
    public int? BlobPort => _azurite?.BlobPort;
    public int? QueuePort => _azurite?.QueuePort;
    public int? TablePort => _azurite?.TablePort;

    /// <summary>Azurite's data folder; null when storage is in memory or external.</summary>
    public string? DataDirectory { get; private set; }

    /// <summary>Completes with the exit code of the first unexpected exit of a handler process (which is then restarted,
    /// unless <see cref="LocalHubOptions.RestartHandler"/> is off); never with an external handler.</summary>
    public Task<int> HandlerExited { get; private set; } = new TaskCompletionSource<int>().Task;

    public static async Task<LocalHub> StartAsync(LocalHubOptions options, CancellationToken cancellationToken = default)
    {
        var hub = new LocalHub(options);
        try
        {
            await hub.StartCoreAsync(cancellationToken);
            return hub;
        }
        catch
        {
            await hub.DisposeAsync();
            throw;
        }
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        var repository = _options.ResolvedRepositoryRoot;
        var settings = AppSettings(repository);
        App = FunctionAppDefinition.Load(_options.ResolvedAppDirectory, HostOverrides(settings));
        // Fail fast on a bad schedule, before anything is started.
        foreach (var function in App.WithTrigger(BindingDefinition.TimerTrigger))
        {
            TimerTrigger.ParseSchedule(Scheduled(function), _options.TimerSchedules.ContainsKey(function.Name) ? $"{nameof(LocalHubOptions.TimerSchedules)}[{function.Name}]" : null);
        }

        if (_options.TimerSchedules.Keys.FirstOrDefault(n => !App.WithTrigger(BindingDefinition.TimerTrigger).Any(f => f.Name == n)) is { } unknown)
        {
            throw new LocalHubException($"{nameof(LocalHubOptions.TimerSchedules)}[{unknown}]: the app has no timer function '{unknown}'.");
        }

        if (_options.StorageConnectionString is { Length: > 0 } external)
        {
            StorageConnectionString = external;
        }
        else
        {
            DataDirectory = _options.InMemoryStorage ? null : _options.ResolvedDataDirectory;
            _log("Starting Azurite …");
            _azurite = await Azurite.StartAsync(
                repository,
                DataDirectory,
                (_options.BlobPort, _options.QueuePort, _options.TablePort),
                _options.AzuriteStartTimeout,
                _options.NpmCommand,
                _log,
                cancellationToken);
            StorageConnectionString = _azurite.ConnectionString;
            _log($"Azurite: blob {_azurite.BlobPort}, queue {_azurite.QueuePort}, table {_azurite.TablePort}, " +
                 (DataDirectory is null ? "in memory" : $"data in {DataDirectory}"));
        }

        Storage = StorageAccount.FromConnectionString(StorageConnectionString, App.Host.Queues.MessageEncoding);
        // Trigger queues are part of the layout (FunctionAppDefinition refuses one that is not), so this covers them.
        await Storage.ProvisionAsync(App.Storage, cancellationToken);

        settings["AzureWebJobsStorage"] = StorageConnectionString;
        // The handlers read the real system clock, so the epoch is real time whatever clock drives this host.
        ShareAcceleratedClock(settings, TimeProvider.System.GetUtcNow());
        HandlerSettings = settings;
        if (_options.Instances < 1)
        {
            throw new LocalHubException($"Instances must be at least 1 (was {_options.Instances}).");
        }

        var instances = new List<HandlerInstance>();
        _instances = new HandlerInstances(instances);
        if (_options.HandlerUrl is { } handlerUrl)
        {
            await Handler.WaitUntilReadyAsync(handlerUrl, _options.HandlerStartTimeout, () => null, null, cancellationToken);
            instances.Add(HandlerInstance.External(handlerUrl));
        }
        else
        {
            _log($"Starting the handler{(_options.Instances > 1 ? $" ({_options.Instances} instances)" : "")}: {App.ExecutablePath} …");
            foreach (var number in Enumerable.Range(1, _options.Instances))
            {
                var sink = _options.HandlerOutputSink is { } print && _options.Instances > 1 ? line => print($"{number}| {line}") : _options.HandlerOutputSink;
                var instance = await HandlerInstance.StartAsync(
                    number, App, settings, _handlerOutput, sink, _options, _log, i => HandlerRestarted?.Invoke(i), cancellationToken);
                instances.Add(instance);
                _log($"Handler{(_options.Instances > 1 ? $" instance {number}" : "")}: pid {instance.ProcessId}, listening on {instance.Address}");
            }

            HandlerExited = Task.WhenAny(instances.Select(i => i.FirstExit)).Unwrap();
        }

        var invocationTimeout = _options.InvocationTimeout ?? FunctionTimeout(App.Directory, _options.HostOverrides) ?? TimeSpan.FromMinutes(30);
        _frontDoor = await FrontDoor.StartAsync(App, _instances.NextReadyAsync, _options.HttpPort, invocationTimeout, _options.HandlerStartTimeout, _options.StaffIdentity, _log, cancellationToken);

        if (_options.EnableQueueTriggers)
        {
            var functions = Enabled(BindingDefinition.QueueTrigger, settings).ToArray();
            // Every instance polls every queue, as each Flex Consumption instance runs all the app's queue listeners.
            foreach (var instance in _instances.All)
            {
                var invoker = Invoker(instance.ReadyAddressAsync, invocationTimeout);
                foreach (var function in functions)
                {
                    var listener = new QueueTriggerListener(function, App.Host.Queues, Storage.Queues, invoker, _options.TimeProvider, _log, _options.QueueMessageLease);
                    Loop($"queue trigger {function.Name}", () => listener.RunAsync(_stopping.Token, _aborting.Token));
                }
            }
        }

        if (_options.EnableTimerTriggers)
        {
            // One schedule per function whatever the instance count (the host's singleton lock): each firing goes to a ready instance.
            var invoker = Invoker(new HandlerInstances(_instances.All).NextReadyAsync, invocationTimeout); // its own rotation, HTTP's stays even
            foreach (var function in Enabled(BindingDefinition.TimerTrigger, settings))
            {
                var timer = new TimerTrigger(Scheduled(function), invoker, _options.TimeProvider, _log);
                Loop($"timer trigger {function.Name}", () => timer.RunAsync(_stopping.Token, _aborting.Token));
            }
        }

        if (_options.EnableBlobEvents)
        {
            if (App.Storage.Containers.Contains(_options.BlobEventContainer) && App.Storage.Queues.Contains(_options.BlobEventQueue))
            {
                var events = new BlobCreatedEvents(
                    Storage.Blobs.GetBlobContainerClient(_options.BlobEventContainer),
                    Storage.Queues.GetQueueClient(_options.BlobEventQueue),
                    Storage.Tables,
                    _options.BlobPollInterval,
                    _log);
                await events.InitializeAsync(cancellationToken);
                Loop("BlobCreated events", () => events.RunAsync(_stopping.Token));
            }
            else
            {
                _log($"BlobCreated events off: container '{_options.BlobEventContainer}' or queue '{_options.BlobEventQueue}' is not in {StorageLayout.FileName}.");
            }
        }
    }

    private FunctionInvoker Invoker(Func<CancellationToken, ValueTask<Uri>> handler, TimeSpan timeout)
    {
        var invoker = new FunctionInvoker(handler, timeout);
        _invokers.Add(invoker);
        return invoker;
    }

    /// <summary>
    /// Functions of a trigger type, minus those switched off by the app setting <c>AzureWebJobs.&lt;Name&gt;.Disabled</c>
    /// (or its Linux-safe form <c>AzureWebJobs__&lt;Name&gt;__Disabled</c>), as in Azure.
    /// </summary>
    private IEnumerable<FunctionDefinition> Enabled(string triggerType, IReadOnlyDictionary<string, string> settings) =>
        App.WithTrigger(triggerType).Where(function =>
        {
            var disabled = (settings.TryGetValue($"AzureWebJobs.{function.Name}.Disabled", out var value)
                    || settings.TryGetValue($"AzureWebJobs__{function.Name}__Disabled", out value))
                && bool.TryParse(value, out var off) && off;
            if (disabled)
            {
                _log($"{function.Name} is disabled by app setting.");
            }

            return !disabled;
        });

    private void Loop(string name, Func<Task> run) => _loops.Add(Task.Run(async () =>
    {
        try
        {
            await run();
        }
        catch (Exception e) when (!_aborting.IsCancellationRequested)
        {
            _log($"The {name} stopped: {e.GetType().Name}: {e.Message}");
        }
        catch (OperationCanceledException)
        {
        }
    }));

    /// <summary>local.settings.json Values (when present and enabled), then <see cref="LocalHubOptions.AppSettings"/>.</summary>
    private Dictionary<string, string> AppSettings(string repository)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        var localSettings = Path.Combine(repository, "local.settings.json");
        if (_options.UseLocalSettingsFile && File.Exists(localSettings))
        {
            foreach (var (key, value) in ReadLocalSettings(localSettings))
            {
                settings[key] = value;
            }
        }

        foreach (var (key, value) in _options.AppSettings)
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>
    /// A test's fast business clock (<c>Authorizations:AcceleratedClock:Start</c>) without an <c>:Epoch</c> gets this hub's
    /// start as its epoch, so every instance and every restart reads the same business time. Without it each process
    /// started its clock over: a restarted handler ran hours behind the other at 60×, and timers one armed were not due
    /// for the other (the chaos trial's lost reminders).
    /// </summary>
    internal static void ShareAcceleratedClock(Dictionary<string, string> settings, DateTimeOffset hubStart)
    {
        static string Normalized(string key) => key.Replace("__", ":", StringComparison.Ordinal);
        var start = settings.Keys.FirstOrDefault(k => string.Equals(Normalized(k), "Authorizations:AcceleratedClock:Start", StringComparison.OrdinalIgnoreCase));
        if (start is null || settings.Keys.Any(k => string.Equals(Normalized(k), "Authorizations:AcceleratedClock:Epoch", StringComparison.OrdinalIgnoreCase)))
        {
            return;
        }

        settings[start[..^"Start".Length] + "Epoch"] = hubStart.ToString("O", CultureInfo.InvariantCulture);
    }

    internal static IEnumerable<KeyValuePair<string, string>> ReadLocalSettings(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (!document.RootElement.TryGetProperty("Values", out var values) || values.ValueKind != JsonValueKind.Object)
            {
                return [];
            }

            return values.EnumerateObject()
                .Where(p => p.Value.ValueKind != JsonValueKind.Null)
                .Select(p => KeyValuePair.Create(p.Name, p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText()))
                .ToArray();
        }
        catch (JsonException e)
        {
            throw new LocalHubException($"{path} is not valid JSON: {e.Message}");
        }
    }

    /// <summary>App settings <c>AzureFunctionsJobHost__a__b</c> override host.json <c>a:b</c>, as in Azure; explicit overrides win.</summary>
    /// <summary>The function with its <see cref="LocalHubOptions.TimerSchedules"/> override, if any.</summary>
    private FunctionDefinition Scheduled(FunctionDefinition function) =>
        _options.TimerSchedules.TryGetValue(function.Name, out var schedule)
            ? function with { Bindings = [.. function.Bindings.Select(b => b.IsTrigger ? b with { Schedule = schedule } : b)] }
            : function;

    private IEnumerable<KeyValuePair<string, string?>> HostOverrides(IReadOnlyDictionary<string, string> settings) =>
        settings
            .Where(s => s.Key.StartsWith(HostSettings.OverridePrefix, StringComparison.OrdinalIgnoreCase))
            .Select(s => KeyValuePair.Create(s.Key[HostSettings.OverridePrefix.Length..].Replace("__", ":", StringComparison.Ordinal), (string?)s.Value))
            .Concat(_options.HostOverrides.Select(o => KeyValuePair.Create(o.Key, (string?)o.Value)))
            .ToArray();

    private static TimeSpan? FunctionTimeout(string appDirectory, IReadOnlyDictionary<string, string> overrides)
    {
        var text = overrides.TryGetValue("functionTimeout", out var overridden) ? overridden : null;
        if (text is null)
        {
            using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(appDirectory, HostSettings.FileName)), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
            text = document.RootElement.TryGetProperty("functionTimeout", out var value) ? value.GetString() : null;
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var timeout) && timeout > TimeSpan.Zero ? timeout : null;
    }

    /// <summary>Stops polling, lets in-flight invocations finish (up to DrainTimeout), then stops HTTP, the handler and Azurite.</summary>
    public Task StopAsync() => _stopped ??= StopCoreAsync();

    private async Task StopCoreAsync()
    {
        await _stopping.CancelAsync();
        var loops = Task.WhenAll(_loops);
        try
        {
            await loops.WaitAsync(_options.DrainTimeout);
        }
        catch (TimeoutException)
        {
            _log($"In-flight invocations did not finish within {_options.DrainTimeout.TotalSeconds:0} s; abandoning them.");
            await _aborting.CancelAsync();
            await loops.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        await _aborting.CancelAsync();
        if (_frontDoor is not null)
        {
            await _frontDoor.DisposeAsync();
        }

        foreach (var invoker in _invokers)
        {
            invoker.Dispose();
        }

        await Task.WhenAll(_instances.All.Select(i => i.DisposeAsync().AsTask()));

        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
            _log("Azurite stopped.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stopping.Dispose();
        _aborting.Dispose();
    }
}
