using System.Diagnostics;
using CalAimHub.Hosting.FunctionApp;

namespace CalAimHub.LocalHost;

/// <summary>
/// One instance of the function app's handler, as one Flex Consumption instance runs one worker: the process started from
/// host.json, and, when it exits while the hub runs, started again after a backoff (doubling from
/// <see cref="LocalHubOptions.HandlerRestartDelay"/> up to <see cref="LocalHubOptions.HandlerRestartMaxDelay"/>, back to the
/// start once a process has stayed up that long), as the Functions host restarts a worker that dies. Invocations wait in
/// <see cref="ReadyAddressAsync"/> while it is down, so queue messages are not burnt through their dequeue count meanwhile.
/// </summary>
public sealed class HandlerInstance : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly TaskCompletionSource<int> _firstExit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Func<int, CancellationToken, Task<(ChildProcess Process, Uri Address)>>? _start;
    private readonly Action<string> _log;
    private readonly Action<HandlerInstance> _restarted;
    private readonly TimeSpan _initialDelay;
    private readonly TimeSpan _maxDelay;
    private TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ChildProcess? _process;
    private Task _supervising = Task.CompletedTask;

    private HandlerInstance(
        int number,
        Func<int, CancellationToken, Task<(ChildProcess, Uri)>>? start,
        TimeSpan initialDelay,
        TimeSpan maxDelay,
        Action<string> log,
        Action<HandlerInstance> restarted)
    {
        Number = number;
        _start = start;
        _initialDelay = initialDelay;
        _maxDelay = maxDelay < initialDelay ? initialDelay : maxDelay;
        _log = log;
        _restarted = restarted;
    }

    /// <summary>1-based, as in the hub's log and <c>hub status</c>.</summary>
    public int Number { get; }

    /// <summary>Where the handler listens now (a restart can move it to another port).</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>The current process; null for an external handler or while it is being restarted.</summary>
    public int? ProcessId
    {
        get
        {
            lock (_gate)
            {
                return _process is { HasExited: false } process ? process.Id : null;
            }
        }
    }

    public int Restarts { get; private set; }

    /// <summary>Exit code of the last unexpected exit, if any.</summary>
    public int? LastExitCode { get; private set; }

    public bool IsReady
    {
        get
        {
            lock (_gate)
            {
                return _ready.Task.IsCompleted;
            }
        }
    }

    /// <summary>Completes with the exit code of the first unexpected exit; never for an external handler.</summary>
    public Task<int> FirstExit => _firstExit.Task;

    internal static HandlerInstance External(Uri address)
    {
        var instance = new HandlerInstance(1, null, TimeSpan.Zero, TimeSpan.Zero, _ => { }, _ => { }) { Address = address };
        instance._ready.SetResult();
        return instance;
    }

    /// <summary>Starts the process (failing like <see cref="Handler.StartAsync"/> if it does not come up), then supervises it.</summary>
    internal static async Task<HandlerInstance> StartAsync(
        int number,
        FunctionAppDefinition app,
        IReadOnlyDictionary<string, string> settings,
        ChildProcess.OutputLines output,
        Action<string>? sink,
        LocalHubOptions options,
        Action<string> log,
        Action<HandlerInstance> restarted,
        CancellationToken cancellationToken)
    {
        var instance = new HandlerInstance(
            number,
            (port, token) => Handler.StartAsync(app, settings, output, sink, options.HandlerStartTimeout, token, port),
            options.HandlerRestartDelay,
            options.HandlerRestartMaxDelay,
            log,
            restarted);
        (instance._process, instance.Address) = await instance._start!(0, cancellationToken);
        instance._ready.SetResult();
        if (options.RestartHandler)
        {
            instance._supervising = Task.Run(() => instance.SuperviseAsync(instance._stopping.Token), CancellationToken.None);
        }
        else
        {
            var process = instance._process;
            _ = process.WaitForExitAsync(CancellationToken.None).ContinueWith(_ => instance._firstExit.TrySetResult(process.ExitCode), TaskScheduler.Default);
        }

        return instance;
    }

    private string Name => $"Handler instance {Number}";

    /// <summary>The handler's address once it is up (at once, unless it is being restarted).</summary>
    public async ValueTask<Uri> ReadyAddressAsync(CancellationToken cancellationToken)
    {
        Task ready;
        lock (_gate)
        {
            ready = _ready.Task;
        }

        if (!ready.IsCompleted)
        {
            await ready.WaitAsync(cancellationToken);
        }

        return Address;
    }

    internal Task WhenReady()
    {
        lock (_gate)
        {
            return _ready.Task;
        }
    }

    private async Task SuperviseAsync(CancellationToken stopping)
    {
        var delay = _initialDelay;
        while (true)
        {
            var process = _process!;
            var upSince = Stopwatch.GetTimestamp();
            try
            {
                await process.WaitForExitAsync(stopping);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var code = process.ExitCode;
            var pid = process.Id;
            lock (_gate)
            {
                _ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _process = null;
            }

            LastExitCode = code;
            _firstExit.TrySetResult(code);
            await process.DisposeAsync();
            if (Stopwatch.GetElapsedTime(upSince) >= _maxDelay)
            {
                delay = _initialDelay;
            }

            // Same port first (callers' connections and the log stay readable); a fresh one if that start fails.
            var port = Address.Port;
            while (true)
            {
                _log($"{Name} (pid {pid}) exited with code {code}; restarting in {delay.TotalSeconds:0.#} s.");
                try
                {
                    await Task.Delay(delay, stopping);
                    var (started, address) = await _start!(port, stopping);
                    lock (_gate)
                    {
                        _process = started;
                        Address = address;
                        Restarts++;
                        _ready.SetResult();
                    }

                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _maxDelay.Ticks));
                    _log($"{Name} restarted (restart {Restarts}): pid {started.Id} on {address}.");
                    _restarted(this);
                    break;
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    return;
                }
                catch (LocalHubException e)
                {
                    _log($"{Name} did not come back: {e.Message.Split('\n', 2)[0].Trim()}");
                    port = 0;
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _maxDelay.Ticks));
                }
            }
        }
    }

    /// <summary>Stops supervising, then the process (SIGTERM, then a kill after <paramref name="grace"/>).</summary>
    internal async Task StopAsync(TimeSpan grace)
    {
        await _stopping.CancelAsync();
        await _supervising;
        ChildProcess? process;
        lock (_gate)
        {
            process = _process;
        }

        if (process is not null)
        {
            await process.StopAsync(grace);
            _log($"{Name} stopped (exit code {process.ExitCode}).");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5));
        ChildProcess? process;
        lock (_gate)
        {
            process = _process;
        }

        if (process is not null)
        {
            await process.DisposeAsync();
        }

        _stopping.Dispose();
    }
}

/// <summary>The app's handler instances: HTTP requests and timer invocations go to the next ready one, round robin.</summary>
internal sealed class HandlerInstances(IReadOnlyList<HandlerInstance> instances)
{
    private int _next = -1;

    public IReadOnlyList<HandlerInstance> All => instances;

    public async ValueTask<Uri> NextReadyAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var start = Interlocked.Increment(ref _next) & int.MaxValue;
            for (var i = 0; i < instances.Count; i++)
            {
                var instance = instances[(start + i) % instances.Count];
                if (instance.IsReady)
                {
                    return instance.Address;
                }
            }

            await Task.WhenAny(instances.Select(i => i.WhenReady())).WaitAsync(cancellationToken);
        }
    }
}
