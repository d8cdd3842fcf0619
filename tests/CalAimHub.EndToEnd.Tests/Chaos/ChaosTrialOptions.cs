namespace CalAimHub.Chaos;

/// <summary>
/// The size of one chaos trial. <see cref="Short"/> runs in CI (ChaosTrialTests); <see cref="Full"/> is
/// <c>dotnet run -c Release --project tests/CalAimHub.Benchmarks -- chaos</c>.
/// </summary>
/// <param name="Referrals">Referrals sent by signed webhook; a third are closed (created, Accepted, Outreach Initiated, Referral Loop
/// Closed), a third accepted, a third only created. Every fifth <c>referral.created</c> is delivered twice under its webhook-id.</param>
/// <param name="Authorizations">Expedited ECM authorization requests: a third approved, a third denied, a third left undecided until
/// their decision clock's reminder timer comes due.</param>
/// <param name="Files">Partner RTF files, each from its own partner; every third has <see cref="InvalidRowsPerBadFile"/> invalid rows.</param>
/// <param name="Kills">SIGKILLs sent to a random handler instance at random moments.</param>
/// <param name="KillGap">When each kill comes: at a random point of the load's progress (so kills spread over all of it however slow the
/// machine is), then a random wait between these bounds; kills left when the load is sent come during the settling.</param>
/// <param name="MaxTimerDelay">See <see cref="TimerRecheck"/>.</param>
public sealed record ChaosTrialOptions(
    int Referrals,
    int Authorizations,
    int Files,
    int RowsPerFile,
    int Kills,
    int Instances = 2,
    int InvalidRowsPerBadFile = 7,
    int Concurrency = 8,
    (TimeSpan Min, TimeSpan Max)? KillGap = null,
    TimeSpan? Patience = null,
    int? Seed = null,
    TimeSpan? MaxTimerDelay = null)
{
    public static ChaosTrialOptions Short { get; } = new(Referrals: 18, Authorizations: 9, Files: 2, RowsPerFile: 1_500, Kills: 4,
        KillGap: (TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(2)), Patience: TimeSpan.FromMinutes(4));

    public static ChaosTrialOptions Full { get; } = new(Referrals: 240, Authorizations: 120, Files: 4, RowsPerFile: 5_000, Kills: 20,
        Concurrency: 16, KillGap: (TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(4)), Patience: TimeSpan.FromMinutes(6), MaxTimerDelay: TimeSpan.FromSeconds(15));

    public (TimeSpan Min, TimeSpan Max) Gap => KillGap ?? (TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));

    public TimeSpan Wait => Patience ?? TimeSpan.FromMinutes(3);

    /// <summary><c>Workflows:MaxTimerDelay</c>: how late a timer may come due. Every open clock's timer message comes back this
    /// often until due, so a shorter one costs Azurite a queue round trip per open clock per period.</summary>
    public TimeSpan TimerRecheck => MaxTimerDelay ?? TimeSpan.FromSeconds(5);
}
