using System.Threading.RateLimiting;

namespace CalAimHub.Workflows;

/// <summary>
/// A new start was refused before it touched storage: as many starts as admission allows are in progress and
/// <see cref="WorkflowOptions.StartQueueLimit"/> are waiting, or a queue-triggered start waited its
/// <see cref="WorkflowOptions.QueuedStartPatience"/>. The caller retries after <see cref="RetryAfter"/> (HTTP answers 429
/// with <c>Retry-After</c>; a queue-triggered invocation hands its message back as a fresh copy visible after that long,
/// so neither the refusal nor a worker death during a long wait spends one of the message's deliveries).
/// </summary>
public sealed class WorkflowStartsSaturatedException(TimeSpan retryAfter)
    : Exception($"the hub is starting as many workflow instances as it can right now; try again after {retryAfter.TotalSeconds:0} s")
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>
/// Admission control on new starts, so due timers and raised events do not wait behind a backlog of starts. Storage
/// (one single-threaded Azurite locally, a partition server in Azure) serves requests in arrival order: with every start
/// let in at once, each timer firing and each event commit queued behind all of them (issue 11: 32 drivers kept ~60
/// requests in flight, timer lateness p99 1.4–5.8 s). Now:
/// <list type="bullet">
/// <item>a start takes one of <see cref="WorkflowOptions.MaxConcurrentStarts"/> permits, and while any event or due timer
/// is being applied (<see cref="EnterDueWork"/>) also one of <see cref="WorkflowOptions.MaxConcurrentStartsUnderDueWork"/>:
/// due work shrinks the share of storage that starts may take, down to a floor, so starts still progress;</item>
/// <item>starts wait in process, oldest first, up to <see cref="WorkflowOptions.StartQueueLimit"/>; beyond that they are
/// refused (<see cref="WorkflowStartsSaturatedException"/>) and store nothing;</item>
/// <item>events, timer firings and the child starts of committed work take no permit, so they are always next in line.</item>
/// </list>
/// </summary>
public sealed class WorkflowAdmission : IDisposable
{
    private readonly ConcurrencyLimiter? starts;
    private readonly ConcurrencyLimiter? startsUnderDueWork;
    private int dueWork;

    public WorkflowAdmission(WorkflowOptions options)
    {
        if (options.MaxConcurrentStarts < 0 || options.MaxConcurrentStartsUnderDueWork < 0 || options.StartQueueLimit < 0 || options.StartRetryAfter < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(options),
                $"Workflows:MaxConcurrentStarts ({options.MaxConcurrentStarts}), Workflows:MaxConcurrentStartsUnderDueWork ({options.MaxConcurrentStartsUnderDueWork}) and Workflows:StartQueueLimit ({options.StartQueueLimit}) must be 0 or more and Workflows:StartRetryAfter ({options.StartRetryAfter}) at least 1 s");
        }

        if (options.QueuedStartPatience <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"Workflows:QueuedStartPatience ({options.QueuedStartPatience}) must be more than 0");
        }

        QueuedStartPatience = options.QueuedStartPatience;
        RetryAfter = TimeSpan.FromSeconds(Math.Ceiling(options.StartRetryAfter.TotalSeconds));
        starts = Limiter(options.MaxConcurrentStarts, options.StartQueueLimit);
        startsUnderDueWork = Limiter(options.MaxConcurrentStartsUnderDueWork, options.StartQueueLimit);
    }

    /// <summary>What a refused start is told to wait (whole seconds, for <c>Retry-After</c>).</summary>
    public TimeSpan RetryAfter { get; }

    /// <summary>The longest a start waits for a permit inside <see cref="ForQueuedWork"/>.</summary>
    public TimeSpan QueuedStartPatience { get; }

    private static readonly AsyncLocal<TimeSpan?> Patience = new();

    /// <summary>
    /// Marks the calling flow as a queue-triggered invocation until disposed: a start in it waits at most
    /// <see cref="QueuedStartPatience"/> for a permit and is then refused (<see cref="WorkflowStartsSaturatedException"/>),
    /// so the invocation can hand its message back instead of holding it leased through a long waiting line (issue 11's
    /// chaos run: a referral's five deliveries were all spent by worker deaths while it waited 15–64 s for admission).
    /// </summary>
    public IDisposable ForQueuedWork()
    {
        var outer = Patience.Value;
        Patience.Value = QueuedStartPatience;
        return new PatienceScope(outer);
    }

    /// <summary>Events and due timers being applied right now.</summary>
    public int DueWorkInProgress => Volatile.Read(ref dueWork);

    /// <summary>
    /// Waits for a start permit; dispose it when the start has committed and dispatched. Null when starts are not
    /// limited (both limits 0).
    /// </summary>
    /// <exception cref="WorkflowStartsSaturatedException">All permits are taken and the waiting line is full.</exception>
    public async ValueTask<IDisposable?> EnterStartAsync(CancellationToken cancellationToken)
    {
        if (Patience.Value is not { } patience)
        {
            return await EnterAsync(cancellationToken);
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(patience);
        try
        {
            return await EnterAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new WorkflowStartsSaturatedException(RetryAfter);
        }
    }

    private async ValueTask<IDisposable?> EnterAsync(CancellationToken cancellationToken)
    {
        var lease = await AcquireAsync(starts, cancellationToken);
        if (startsUnderDueWork is null || DueWorkInProgress == 0)
        {
            return lease;
        }

        try
        {
            return new Leases(lease, await AcquireAsync(startsUnderDueWork, cancellationToken));
        }
        catch
        {
            lease?.Dispose();
            throw;
        }
    }

    /// <summary>Marks an event or due timer being applied, for as long as the scope lives (it never waits).</summary>
    public IDisposable EnterDueWork()
    {
        Interlocked.Increment(ref dueWork);
        return new DueWork(this);
    }

    public void Dispose()
    {
        starts?.Dispose();
        startsUnderDueWork?.Dispose();
    }

    private static ConcurrencyLimiter? Limiter(int permits, int queueLimit) => permits == 0 ? null : new ConcurrencyLimiter(new ConcurrencyLimiterOptions
    {
        PermitLimit = permits,
        QueueLimit = queueLimit,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
    });

    private async ValueTask<RateLimitLease?> AcquireAsync(ConcurrencyLimiter? limiter, CancellationToken cancellationToken)
    {
        if (limiter is null)
        {
            return null;
        }

        var lease = await limiter.AcquireAsync(1, cancellationToken);
        if (!lease.IsAcquired)
        {
            lease.Dispose();
            throw new WorkflowStartsSaturatedException(RetryAfter);
        }

        return lease;
    }

    private sealed class Leases(RateLimitLease? first, RateLimitLease? second) : IDisposable
    {
        public void Dispose()
        {
            second?.Dispose();
            first?.Dispose();
        }
    }

    private sealed class PatienceScope(TimeSpan? outer) : IDisposable
    {
        public void Dispose() => Patience.Value = outer;
    }

    private sealed class DueWork(WorkflowAdmission admission) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                Interlocked.Decrement(ref admission.dueWork);
            }
        }
    }
}
