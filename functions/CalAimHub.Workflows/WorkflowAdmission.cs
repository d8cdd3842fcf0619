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
/// <item>at most <see cref="WorkflowOptions.MaxConcurrentStarts"/> starts are in progress, and while any event or due timer
/// is being applied (<see cref="EnterDueWork"/>) at most <see cref="WorkflowOptions.MaxConcurrentStartsUnderDueWork"/>: due
/// work shrinks the share of storage that starts may take, down to a floor, so starts still progress;</item>
/// <item>starts wait in process, up to <see cref="WorkflowOptions.StartQueueLimit"/>; beyond that they are refused
/// (<see cref="WorkflowStartsSaturatedException"/>) and store nothing;</item>
/// <item>the line is ordered by when the work first arrived, not when it joined the line: a queue message handed back by
/// <see cref="ForQueuedWork"/> comes back with its first arrival and goes ahead of newer starts. First come, first served
/// alone starved it: HTTP starts wait without patience, so under a long line they always won and a handed-back referral
/// came round again and again (issue 11's full chaos run: one referral started 9 minutes after its webhook);</item>
/// <item>events, timer firings and the child starts of committed work take no permit, so they are always next in line.</item>
/// </list>
/// </summary>
public sealed class WorkflowAdmission : IDisposable
{
    private readonly int maxStarts;
    private readonly int maxStartsUnderDueWork;
    private readonly int queueLimit;
    private readonly object gate = new();
    private readonly PriorityQueue<TaskCompletionSource<IDisposable>, (DateTimeOffset Arrived, long Order)> line = new();
    private long joined;
    private int inProgress;
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
        maxStarts = options.MaxConcurrentStarts;
        maxStartsUnderDueWork = options.MaxConcurrentStartsUnderDueWork;
        queueLimit = options.StartQueueLimit;
    }

    /// <summary>What a refused start is told to wait (whole seconds, for <c>Retry-After</c>).</summary>
    public TimeSpan RetryAfter { get; }

    /// <summary>The longest a start waits for a permit inside <see cref="ForQueuedWork"/>.</summary>
    public TimeSpan QueuedStartPatience { get; }

    private static readonly AsyncLocal<QueuedWork?> Queued = new();

    /// <summary>
    /// Marks the calling flow as a queue-triggered invocation until disposed: a start in it waits at most
    /// <see cref="QueuedStartPatience"/> for a permit and is then refused (<see cref="WorkflowStartsSaturatedException"/>),
    /// so the invocation can hand its message back instead of holding it leased through a long waiting line (issue 11's
    /// chaos run: a referral's five deliveries were all spent by worker deaths while it waited 15–64 s for admission).
    /// <paramref name="firstArrived"/> is when the message's first copy was queued: its place in the line.
    /// </summary>
    public IDisposable ForQueuedWork(DateTimeOffset? firstArrived = null)
    {
        var outer = Queued.Value;
        Queued.Value = new QueuedWork(QueuedStartPatience, firstArrived);
        return new QueuedScope(outer);
    }

    /// <summary>Events and due timers being applied right now.</summary>
    public int DueWorkInProgress => Volatile.Read(ref dueWork);

    /// <summary>Starts waiting for a permit right now.</summary>
    public int Waiting
    {
        get
        {
            lock (gate)
            {
                return line.Count;
            }
        }
    }

    /// <summary>
    /// Waits for a start permit; dispose it when the start has committed and dispatched. Null when starts are not
    /// limited (both limits 0).
    /// </summary>
    /// <exception cref="WorkflowStartsSaturatedException">The waiting line is full, or a queued start's patience ran out.</exception>
    public async ValueTask<IDisposable?> EnterStartAsync(CancellationToken cancellationToken)
    {
        if (maxStarts == 0 && maxStartsUnderDueWork == 0)
        {
            return null;
        }

        var queued = Queued.Value;
        // Wall-clock time, as the queue's InsertionTime is: the two are compared in one line.
        var arrived = queued?.FirstArrived ?? DateTimeOffset.UtcNow;
        if (queued is null)
        {
            return await WaitInLineAsync(arrived, cancellationToken);
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(queued.Patience);
        try
        {
            return await WaitInLineAsync(arrived, deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new WorkflowStartsSaturatedException(RetryAfter);
        }
    }

    private async Task<IDisposable> WaitInLineAsync(DateTimeOffset arrived, CancellationToken cancellationToken)
    {
        TaskCompletionSource<IDisposable> waiter;
        lock (gate)
        {
            if (line.Count == 0 && inProgress < Capacity())
            {
                inProgress++;
                return new Permit(this);
            }

            if (line.Count >= queueLimit)
            {
                throw new WorkflowStartsSaturatedException(RetryAfter);
            }

            waiter = new(TaskCreationOptions.RunContinuationsAsynchronously);
            line.Enqueue(waiter, (arrived, joined++));
        }

        await using var leaving = cancellationToken.Register(() => Leave(waiter));
        return await waiter.Task;
    }

    private void Leave(TaskCompletionSource<IDisposable> waiter)
    {
        lock (gate)
        {
            if (line.Remove(waiter, out _, out _))
            {
                waiter.TrySetCanceled();
            }
        }
    }

    /// <summary>How many starts may be in progress now; int.MaxValue for no limit.</summary>
    private int Capacity()
    {
        var limit = maxStarts == 0 ? int.MaxValue : maxStarts;
        return Volatile.Read(ref dueWork) > 0 && maxStartsUnderDueWork > 0 ? Math.Min(limit, maxStartsUnderDueWork) : limit;
    }

    /// <summary>
    /// Lets in the line's first, while there is room: after a start finished (<paramref name="finished"/>), or when due
    /// work ended.
    /// </summary>
    private void Admit(bool finished = false)
    {
        lock (gate)
        {
            if (finished)
            {
                inProgress--;
            }

            while (inProgress < Capacity() && line.TryDequeue(out var next, out _))
            {
                inProgress++;
                next.TrySetResult(new Permit(this));
            }
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
        lock (gate)
        {
            while (line.TryDequeue(out var waiter, out _))
            {
                waiter.TrySetException(new ObjectDisposedException(nameof(WorkflowAdmission)));
            }
        }
    }

    private sealed record QueuedWork(TimeSpan Patience, DateTimeOffset? FirstArrived);

    private sealed class Permit(WorkflowAdmission admission) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                admission.Admit(finished: true);
            }
        }
    }

    private sealed class QueuedScope(QueuedWork? outer) : IDisposable
    {
        public void Dispose() => Queued.Value = outer;
    }

    private sealed class DueWork(WorkflowAdmission admission) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0 && Interlocked.Decrement(ref admission.dueWork) == 0)
            {
                admission.Admit(); // the floor is lifted: let in as many as the full limit allows
            }
        }
    }
}
