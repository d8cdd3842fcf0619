using System.CommandLine;
using System.CommandLine.Parsing;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Storage.Queues;
using CalAimHub.Hosting.FunctionApp;
using CalAimHub.Hosting.Invocations;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.LocalHost;

/// <summary>The <c>hub</c> command line: run, status, replay, notify.</summary>
internal sealed class HubCli
{
    public const string NotificationsQueue = "notifications";

    private readonly TextWriter _out;
    private readonly TextWriter _error;
    private readonly bool _interactive;

    private readonly Option<string> _repo = new("--repo")
    {
        Description = "Repository root (node_modules/azurite, .hub/).",
        DefaultValueFactory = _ => LocalHubOptions.DefaultRepositoryRoot,
    };

    private readonly Option<string> _app = new("--app")
    {
        Description = "Function app folder (host.json, function folders, storage-layout.json, handler executable).",
        DefaultValueFactory = _ => LocalHubOptions.DefaultAppDirectory,
    };

    private readonly Option<string?> _data = new("--data") { Description = "Azurite data folder (default: <repo>/.hub/azurite)." };
    private readonly Option<bool> _inMemory = new("--in-memory") { Description = "Keep storage in memory only (nothing survives a restart)." };
    private readonly Option<int> _instances = InstancesOption();
    private readonly Option<int> _port = new("--port") { Description = "HTTP port of the API (0 = any free port).", DefaultValueFactory = _ => 7071 };
    private readonly Option<int> _blobPort = new("--blob-port") { Description = "Azurite blob port.", DefaultValueFactory = _ => 10000 };
    private readonly Option<int> _queuePort = new("--queue-port") { Description = "Azurite queue port.", DefaultValueFactory = _ => 10001 };
    private readonly Option<int> _tablePort = new("--table-port") { Description = "Azurite table port.", DefaultValueFactory = _ => 10002 };
    private readonly Option<string[]> _setting = KeyValueOption("--setting", "App setting for the handler, KEY=VALUE (repeatable), e.g. Notifications__RequireHttps=false.");
    private readonly Option<string[]> _hostSetting = KeyValueOption("--host-setting", "host.json override, KEY=VALUE with ':' between levels (repeatable), e.g. extensions:queues:visibilityTimeout=00:00:05.");
    private readonly Argument<string> _queue = new("queue") { Description = "Queue whose poison queue is replayed, e.g. notifications." };
    private readonly Option<string> _subscriber = new("--subscriber") { Description = "Subscriber name (its secrets come from Notifications__Subscribers__<name>__Secrets__N).", Required = true };
    private readonly Option<string> _url = new("--url") { Description = "Receiver URL.", Required = true };
    private readonly Option<string> _type = new("--type") { Description = "Event type.", DefaultValueFactory = _ => "calaimhub.test" };
    private readonly Option<string?> _notifyData = new("--data") { Description = "Event data as JSON (default {\"message\":\"test notification\"})." };

    /// <param name="interactive">Output is a terminal: progress may be redrawn in place.</param>
    public HubCli(TextWriter output, TextWriter error, bool interactive = false)
    {
        _out = output;
        _error = error;
        _interactive = interactive;
        Root = Build();
    }

    public RootCommand Root { get; }

    public static Task<int> InvokeAsync(string[] args) =>
        new HubCli(Console.Out, Console.Error, interactive: !Console.IsOutputRedirected).Root.Parse(args).InvokeAsync(new InvocationConfiguration
        {
            // `hub run` handles SIGINT/SIGTERM itself so that it can take its time to stop cleanly.
            ProcessTerminationTimeout = null,
        });

    private RootCommand Build()
    {
        var run = new Command("run", "Run the function app locally: Azurite, the handler, HTTP on the API port, queue/timer triggers, BlobCreated events.")
        {
            _app, _repo, _data, _inMemory, _instances, _port, _blobPort, _queuePort, _tablePort, _setting, _hostSetting,
        };
        run.SetAction((result, cancellationToken) => RunAsync(result, cancellationToken));

        var status = new Command("status", "Show the running hub: queue and poison-queue depths, the app's health.") { _repo };
        status.SetAction((result, cancellationToken) => Guarded(() => StatusAsync(result, cancellationToken)));

        var replay = new Command("replay", "Move the messages of <queue>-poison back to <queue> (dead letters are unwrapped).") { _queue, _repo };
        replay.SetAction((result, cancellationToken) => Guarded(() => ReplayAsync(result, cancellationToken)));

        var notify = new Command("notify", "Enqueue a test notification for a subscriber on the notifications queue.")
        {
            _subscriber, _url, _type, _notifyData, _repo,
        };
        notify.SetAction((result, cancellationToken) => Guarded(() => NotifyAsync(result, cancellationToken)));

        var rebuild = new Command("rebuild", "Recompute every read model (console, authorization listing) from the workflows, in the running hub.") { _repo };
        rebuild.SetAction((result, cancellationToken) => Guarded(() => RebuildProjectionsAsync(result, cancellationToken)));
        var projections = new Command("projections", "Read models kept from the workflows.") { rebuild };

        return new RootCommand("CalAimHub local host: the Functions host and Event Grid, played locally from host.json and function.json.")
        {
            run, status, replay, notify, projections, HubDrop.Create(_out, _error, _interactive),
        };
    }

    /// <summary>Storage or HTTP failures of status/replay/notify: one line and exit code 1, not a stack trace.</summary>
    private async Task<int> Guarded(Func<Task<int>> command)
    {
        try
        {
            return await command();
        }
        catch (Exception e) when (e is Azure.RequestFailedException or HttpRequestException or AggregateException or FunctionAppDefinitionException)
        {
            WriteLine(_error, $"hub: {e.GetType().Name}: {e.Message.Split('\n', 2)[0].Trim()}");
            return 1;
        }
    }

    private static Option<int> InstancesOption()
    {
        var option = new Option<int>("--instances")
        {
            Description = "Handler processes (Flex Consumption instances): HTTP is spread over them, every queue trigger polls in each, timers fire once.",
            DefaultValueFactory = _ => 1,
        };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > 16)
            {
                result.AddError("--instances must be between 1 and 16.");
            }
        });
        return option;
    }

    private static Option<string[]> KeyValueOption(string name, string description)
    {
        var option = new Option<string[]>(name)
        {
            Description = description,
            Arity = ArgumentArity.ZeroOrMore,
            AllowMultipleArgumentsPerToken = false,
            DefaultValueFactory = _ => [],
        };
        option.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                if (KeyValueError(name, token.Value) is { } error)
                {
                    result.AddError(error);
                }
            }
        });
        return option;
    }

    internal static string? KeyValueError(string option, string value)
    {
        var equals = value.IndexOf('=', StringComparison.Ordinal);
        return equals <= 0 || string.IsNullOrWhiteSpace(value[..equals])
            ? $"{option} '{value}' must be KEY=VALUE."
            : null;
    }

    /// <summary>KEY=VALUE pairs; the value is everything after the first '=' (it may contain '='); the last one wins.</summary>
    internal static Dictionary<string, string> ParseKeyValues(IEnumerable<string> values)
    {
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            var equals = value.IndexOf('=', StringComparison.Ordinal);
            pairs[value[..equals].Trim()] = value[(equals + 1)..];
        }

        return pairs;
    }

    /// <summary>The <see cref="LocalHubOptions"/> a parsed <c>hub run</c> stands for.</summary>
    internal LocalHubOptions RunOptions(ParseResult result) => new()
    {
        AppDirectory = result.GetValue(_app),
        RepositoryRoot = result.GetValue(_repo),
        DataDirectory = result.GetValue(_data),
        InMemoryStorage = result.GetValue(_inMemory),
        Instances = result.GetValue(_instances),
        HttpPort = result.GetValue(_port),
        BlobPort = result.GetValue(_blobPort),
        QueuePort = result.GetValue(_queuePort),
        TablePort = result.GetValue(_tablePort),
        AppSettings = ParseKeyValues(result.GetValue(_setting) ?? []),
        HostOverrides = ParseKeyValues(result.GetValue(_hostSetting) ?? []),
    };

    private async Task<int> RunAsync(ParseResult result, CancellationToken cancellationToken)
    {
        var options = RunOptions(result) with
        {
            Log = line => WriteLine(_out, $"[hub] {line}"),
            HandlerOutputSink = line => WriteLine(_out, $"[app] {line}"),
        };
        var repository = options.ResolvedRepositoryRoot;
        if (HubState.ReadRunning(repository, out _) is { } running)
        {
            WriteLine(_error, $"A hub is already running (pid {running.Pid}, API {running.ApiBaseAddress}). Stop it first (Ctrl+C in its terminal).");
            return 1;
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }

        LocalHub hub;
        try
        {
            hub = await LocalHub.StartAsync(options, stop.Token);
        }
        catch (Exception e) when (e is LocalHubException or FunctionAppDefinitionException)
        {
            WriteLine(_error, $"hub: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return 0;
        }

        await using (hub)
        {
            var pid = Environment.ProcessId;
            var startedAt = DateTimeOffset.UtcNow;
            HubState State() => new()
            {
                Pid = pid,
                StartedAt = startedAt,
                ApiBaseAddress = hub.ApiBaseAddress.ToString().TrimEnd('/'),
                RoutePrefix = hub.App.Host.HttpRoutePrefix,
                HandlerAddress = hub.HandlerAddress.ToString(),
                HandlerPid = hub.HandlerProcessId,
                AzuritePid = hub.AzuriteProcessId,
                BlobPort = hub.BlobPort,
                QueuePort = hub.QueuePort,
                TablePort = hub.TablePort,
                DataDirectory = hub.DataDirectory,
                AppDirectory = hub.App.Directory,
                StorageConnectionString = hub.StorageConnectionString,
                MessageEncoding = hub.App.Host.Queues.MessageEncoding.ToString(),
                Queues = hub.App.Storage.Queues,
                Instances = hub.Instances.Select(i => new HubState.InstanceState(i.Number, i.ProcessId, i.Address.ToString(), i.Restarts, i.LastExitCode)).ToArray(),
            };
            var stateLock = new object();
            void WriteState()
            {
                lock (stateLock)
                {
                    State().Write(repository);
                }
            }

            WriteState();
            // A handler that dies is restarted by the hub (logged with its exit code); hub.json follows for `hub status`.
            hub.HandlerRestarted += _ => WriteState();
            try
            {
                PrintBanner(hub);
                await Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                WriteLine(_out, "[hub] Stopping…");
                return 0;
            }
            finally
            {
                await hub.StopAsync();
                HubState.Delete(repository, pid);
                WriteLine(_out, "[hub] Stopped.");
            }
        }
    }

    private void PrintBanner(LocalHub hub)
    {
        var prefix = hub.App.Host.HttpRoutePrefix.Trim('/');
        var api = hub.ApiBaseAddress.ToString().TrimEnd('/') + (prefix.Length == 0 ? "" : "/" + prefix);
        WriteLine(_out, "CalAimHub local host is running.");
        WriteLine(_out, $"  API:       {api}/  (health: {api}/health)");
        foreach (var function in hub.App.Functions)
        {
            var trigger = function.Trigger;
            var what = trigger.Type switch
            {
                BindingDefinition.HttpTrigger => $"HTTP {(trigger.Methods is { Count: > 0 } m ? string.Join(",", m).ToUpperInvariant() : "any")} {FrontDoor.RoutePattern(hub.App.Host.HttpRoutePrefix, trigger.Route ?? function.Name)}",
                BindingDefinition.QueueTrigger => $"queue {trigger.QueueName}",
                BindingDefinition.TimerTrigger => $"timer {trigger.Schedule}{(trigger.RunOnStartup ? " (run on startup)" : "")}",
                _ => trigger.Type,
            };
            WriteLine(_out, $"  Function:  {function.Name} ({what})");
        }

        WriteLine(_out, hub.AzuriteProcessId is null
            ? "  Storage:   external"
            : $"  Azurite:   blob {hub.BlobPort}, queue {hub.QueuePort}, table {hub.TablePort} (pid {hub.AzuriteProcessId}); {(hub.DataDirectory is null ? "in memory" : "data in " + hub.DataDirectory)}");
        WriteLine(_out, $"  Storage:   {hub.StorageConnectionString}");
        foreach (var instance in hub.Instances)
        {
            WriteLine(_out, $"  Handler:   {instance.Address}{(instance.ProcessId is { } pid ? $" (pid {pid})" : "")}{(hub.Instances.Count > 1 ? $" instance {instance.Number}" : "")}");
        }

        WriteLine(_out, "Press Ctrl+C to stop. `./hub status` shows queues and health.");
    }

    /// <summary><c>hub projections rebuild</c>: the app's operator route does the work (it has the projections); this waits for its report.</summary>
    private async Task<int> RebuildProjectionsAsync(ParseResult result, CancellationToken cancellationToken)
    {
        if (HubState.ReadRunning(result.GetValue(_repo)!, out var reason) is not { } state)
        {
            WriteLine(_error, reason);
            return 1;
        }

        var prefix = state.RoutePrefix.Trim('/');
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromMinutes(30) };
        using var response = await client.PostAsync($"{state.ApiBaseAddress}{(prefix.Length == 0 ? "" : "/" + prefix)}/console/read-models/rebuild", null, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            WriteLine(_error, $"hub: rebuild answered {(int)response.StatusCode}: {body}");
            return 1;
        }

        using var report = System.Text.Json.JsonDocument.Parse(body);
        var root = report.RootElement;
        WriteLine(_out, $"Read models rebuilt: {string.Join(", ", root.GetProperty("projections").EnumerateArray().Select(p => p.GetString()))}");
        WriteLine(_out, $"  instances read {root.GetProperty("instances").GetInt32()}, rows deleted {root.GetProperty("rowsDeleted").GetInt32()}, rows written {root.GetProperty("rowsWritten").GetInt32()}");
        WriteLine(_out, $"  tables: {string.Join(", ", root.GetProperty("tables").EnumerateArray().Select(p => p.GetString()))}");
        return 0;
    }

    private async Task<int> StatusAsync(ParseResult result, CancellationToken cancellationToken)
    {
        if (HubState.ReadRunning(result.GetValue(_repo)!, out var reason) is not { } state)
        {
            WriteLine(_error, reason);
            return 1;
        }

        WriteLine(_out, $"Hub running (pid {state.Pid}) since {state.StartedAt:u}");
        WriteLine(_out, $"  API:     {state.ApiBaseAddress}");
        if (state.BlobPort is not null)
        {
            WriteLine(_out, $"  Azurite: blob {state.BlobPort}, queue {state.QueuePort}, table {state.TablePort}; {state.DataDirectory ?? "in memory"}");
        }

        foreach (var instance in state.Instances)
        {
            var restarts = instance.Restarts == 0 ? "no restarts" : $"{instance.Restarts} restart(s), last exit code {instance.LastExitCode}";
            WriteLine(_out, $"  Handler: instance {instance.Number}, pid {instance.Pid?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"} on {instance.Address}; {restarts}");
        }

        // The health request goes out with the queue lookups below; its answer is printed last.
        var prefix = state.RoutePrefix.Trim('/');
        var health = $"{state.ApiBaseAddress}{(prefix.Length == 0 ? "" : "/" + prefix)}/health";
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
        var healthResponse = client.GetAsync(health, cancellationToken);
        var queues = Queues(state);
        WriteLine(_out, "Queues (approximate message counts):");
        var width = Math.Max(12, state.Queues.Max(q => q.Length) + 2);
        var failed = false;
        // All depths at once (two calls per queue), printed in layout order: status answers in well under a second.
        async Task<int> Depth(string queue) => (await queues.GetQueueClient(queue).GetPropertiesAsync(cancellationToken)).Value.ApproximateMessagesCount;
        var depths = state.Queues.ToDictionary(q => q, q => (Depth(q), Depth(StorageLayout.PoisonQueue(q))), StringComparer.Ordinal);
        foreach (var queue in state.Queues)
        {
            try
            {
                var depth = await depths[queue].Item1;
                var poison = await depths[queue].Item2;
                var hint = poison > 0 ? $"   <- poison messages expire after 7 days; ./hub replay {queue}" : "";
                WriteLine(_out, $"  {queue.PadRight(width)}{depth,6}   poison {poison,4}{hint}");
            }
            catch (Exception e) when (e is Azure.RequestFailedException or HttpRequestException or AggregateException)
            {
                WriteLine(_out, $"  {queue.PadRight(width)}unavailable ({e.Message.Split('\n', 2)[0].Trim()})");
                failed = true;
            }
        }

        try
        {
            using var response = await healthResponse;
            var body = (await response.Content.ReadAsStringAsync(cancellationToken)).ReplaceLineEndings(" ");
            WriteLine(_out, $"Health: {(int)response.StatusCode} {response.ReasonPhrase} {(body.Length > 300 ? body[..300] + "…" : body)}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            WriteLine(_out, $"Health: {health} did not answer ({e.Message})");
            failed = true;
        }

        return failed ? 1 : 0;
    }

    private async Task<int> ReplayAsync(ParseResult result, CancellationToken cancellationToken)
    {
        if (HubState.ReadRunning(result.GetValue(_repo)!, out var reason) is not { } state)
        {
            WriteLine(_error, reason);
            return 1;
        }

        var queue = result.GetValue(_queue)!;
        if (!state.Queues.Contains(queue, StringComparer.Ordinal))
        {
            WriteLine(_error, $"Unknown queue '{queue}': {StorageLayout.FileName} has {string.Join(", ", state.Queues)}.");
            return 1;
        }

        var count = await ReplayAsync(Queues(state), queue, cancellationToken);
        WriteLine(_out, $"Replayed {count} message(s) from {StorageLayout.PoisonQueue(queue)} to {queue}.");
        return 0;
    }

    /// <summary>Moves every message of <c>&lt;queue&gt;-poison</c> back to the queue (send first, then delete: at worst a duplicate).</summary>
    internal static async Task<int> ReplayAsync(QueueServiceClient queues, string queue, CancellationToken cancellationToken)
    {
        var target = queues.GetQueueClient(queue);
        var poison = queues.GetQueueClient(StorageLayout.PoisonQueue(queue));
        var count = 0;
        while (true)
        {
            var batch = (await poison.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(5), cancellationToken)).Value;
            if (batch.Length == 0)
            {
                return count;
            }

            foreach (var message in batch)
            {
                await target.SendMessageAsync(DeadLetter.OriginalMessage(message.Body.ToString()), cancellationToken);
                await poison.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
                count++;
            }
        }
    }

    private async Task<int> NotifyAsync(ParseResult result, CancellationToken cancellationToken)
    {
        if (HubState.ReadRunning(result.GetValue(_repo)!, out var reason) is not { } state)
        {
            WriteLine(_error, reason);
            return 1;
        }

        if (!state.Queues.Contains(NotificationsQueue, StringComparer.Ordinal))
        {
            WriteLine(_error, $"The queue '{NotificationsQueue}' is not in {StorageLayout.FileName}.");
            return 1;
        }

        JsonObject message;
        try
        {
            message = NotificationMessage(result.GetValue(_subscriber)!, result.GetValue(_url)!, result.GetValue(_type)!, result.GetValue(_notifyData), Guid.NewGuid());
        }
        catch (ArgumentException e)
        {
            WriteLine(_error, e.Message);
            return 1;
        }

        await Queues(state).GetQueueClient(NotificationsQueue).SendMessageAsync(message.ToJsonString(), cancellationToken);
        WriteLine(_out, $"Enqueued notification {message["deliveryId"]} for subscriber '{message["subscriber"]}' on {NotificationsQueue}.");
        return 0;
    }

    internal static JsonObject NotificationMessage(string subscriber, string url, string type, string? dataJson, Guid deliveryId)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out _))
        {
            throw new ArgumentException($"--url '{url}' is not an absolute URL.");
        }

        JsonNode data;
        try
        {
            data = dataJson is null ? new JsonObject { ["message"] = "test notification" } : JsonNode.Parse(dataJson)!;
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"--data is not valid JSON: {e.Message}");
        }

        return new JsonObject
        {
            ["deliveryId"] = deliveryId.ToString(),
            ["subscriber"] = subscriber,
            ["url"] = url,
            ["type"] = type,
            ["data"] = data,
        };
    }

    private static QueueServiceClient Queues(HubState state) =>
        StorageAccount.FromConnectionString(
            state.StorageConnectionString,
            Enum.TryParse<QueueMessageEncoding>(state.MessageEncoding, out var encoding) ? encoding : QueueMessageEncoding.Base64).Queues;

    private static void WriteLine(TextWriter writer, string line)
    {
        lock (writer)
        {
            writer.WriteLine(line);
            writer.Flush();
        }
    }
}
