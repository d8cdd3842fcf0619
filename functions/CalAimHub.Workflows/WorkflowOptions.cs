namespace CalAimHub.Workflows;

/// <summary>Configuration section <c>Workflows</c>.</summary>
public sealed class WorkflowOptions
{
    public const string TableName = "Workflows";
    public const string IndexTableName = "WorkflowIndex";
    public const string WorkQueueName = "workflow-work";
    public const string TimerQueueName = "workflow-timers";
    public const string ParkedTimersTableName = "ParkedWorkflowTimers";

    /// <summary>
    /// Longest delay of one timer message. Azure Queues accept at most 7 days of visibility delay; a longer timer is
    /// re-armed on delivery. Configurable so a test can prove the re-arm chain in seconds.
    /// </summary>
    public TimeSpan MaxTimerDelay { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// How early (whole seconds) a timer message becomes visible; the WorkflowTimers handler waits the rest in process,
    /// so a timer fires at its due time rather than one poll interval after it. 0 = visible at due (rounded up).
    /// </summary>
    public TimeSpan TimerLead { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A timer due further ahead than this waits in table <see cref="ParkedTimersTableName"/>, not on the timer queue,
    /// until the sweeper (every 2 minutes) queues it in the UTC hour that holds its due time less this. Why: Azurite keeps
    /// every queue's messages in one collection and re-sorts its indexes on each receive, delete and update, so each
    /// waiting message taxes every queue operation of the hub (an empty receive: 1.2 ms with none waiting, 54 ms with
    /// 7,200, 1 s with 100,000; the <c>queue-receive</c> benchmark), and a plan's open authorizations and invoices each
    /// keep timers weeks ahead. In Azure it also keeps the timer queue to what is due within hours. 0 = every timer goes
    /// to the queue.
    /// </summary>
    public TimeSpan TimerQueueHorizon { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Completed, failed and terminated instances are purged this long after their last update.</summary>
    public TimeSpan CompletedRetention { get; set; } = TimeSpan.FromDays(90);

    /// <summary>The sweeper leaves younger outbox rows alone: their committer is most likely still dispatching them.</summary>
    public TimeSpan SweepGrace { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The sweeper checks index rows written this recently against their instance (crash repair).</summary>
    public TimeSpan ReconcileWindow { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Commit attempts per event when other writers keep winning the ETag race.</summary>
    public int MaxCommitAttempts { get; set; } = 30;

    /// <summary>
    /// New starts in progress at once (HTTP, domain APIs, the referral queue; not the child starts of committed work)
    /// while no event or due timer is being applied (<see cref="WorkflowAdmission"/>). 0 = no limit.
    /// </summary>
    public int MaxConcurrentStarts { get; set; } = 8;

    /// <summary>
    /// New starts in progress at once while events or due timers are being applied, so those are not queued in storage
    /// behind starts (issue 11; measured in docs/performance.md). 0 = no limit; both 0 = the policy before issue 11.
    /// </summary>
    public int MaxConcurrentStartsUnderDueWork { get; set; } = 2;

    /// <summary>Starts waiting for a permit (oldest first) before more are refused (HTTP 429 with <c>Retry-After</c>).</summary>
    public int StartQueueLimit { get; set; } = 256;

    /// <summary>The <c>Retry-After</c> of a refused start (rounded up to whole seconds, at least 1 s).</summary>
    public TimeSpan StartRetryAfter { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a queue-triggered start waits for a permit before its message is handed back to the queue as a fresh copy
    /// (<see cref="WorkflowAdmission.ForQueuedWork"/>). A message is charged one delivery for every worker death while it
    /// is leased, so it must not sit leased in a long waiting line.
    /// </summary>
    public TimeSpan QueuedStartPatience { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Test-only fault points (<c>Workflows:FaultInjection</c>); see <see cref="FaultInjectionOptions"/>.</summary>
    public FaultInjectionOptions FaultInjection { get; set; } = new();
}

/// <summary>
/// Test-only: <see cref="ExitAfterCommit"/> = N kills the process (Environment.FailFast) on the N-th commit that has an
/// outbox row, after the commit and before its dispatch, so an end-to-end test can prove the sweeper delivers what a
/// crash left behind. 0 (default) = off; the Functions app refuses to start in Azure when this section is set.
/// </summary>
public sealed class FaultInjectionOptions
{
    public int ExitAfterCommit { get; set; }
}
