using System.Collections.Concurrent;
using System.Text;
using Azure.Data.Tables;
using CalAimHub.Domain;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Calendar;
using CalAimHub.Domain.Invoices;
using CalAimHub.Functions.Authorizations;
using CalAimHub.Functions.Referrals;
using CalAimHub.Hosting.Storage;
using CalAimHub.Ingestion.Formats;
using CalAimHub.Workflows;
using Microsoft.Extensions.Caching.Memory;

namespace CalAimHub.Functions.Invoices;

/// <summary>One billed line as ingestion stored it: the CIN (PHI: checked, hashed, never stored in the invoice or logged) and what was billed.</summary>
public sealed record BilledLine(int Number, string MemberCin, DateOnly ServiceFrom, DateOnly? ServiceTo, string Hcpcs, IReadOnlyList<string> Modifiers, decimal Units, decimal Charge);

/// <summary>
/// The automatic checks of an invoice line, all by key (no scans): the member's authorizations through
/// <c>MemberAuthorizations</c> (one query on the member's partition, which holds one row per service) and the
/// authorization's workflow state (one read per authorization), both once per ingest run (<see cref="InvoiceRunLookups"/>);
/// for a code whose units an authorization limits, the units already paid on it (one counter point read); a paid line with
/// the same member, service and date of service through <c>PaidInvoiceLines</c> (one row-range query per provider, member
/// bucket and run: <see cref="DuplicateKey"/>); the billing provider in the directory (one point read per run). A failing
/// line gets one reason per missing thing, naming it.
/// </summary>
public sealed class InvoiceLineChecks(StorageAccount storage, WorkflowRuntime runtime, ReferralDirectory directory, InvoiceReadModels readModels)
{
    private static readonly ServiceCodeTable ServiceCodes = FormatCatalog.Default.ServiceCodes;

    /// <summary>
    /// The look-ups of the runs being checked, by run id: one file's lines come in many messages, mostly to the same
    /// instance. A run unused for <see cref="RunLookupsKept"/> is dropped (its CINs leave memory with it).
    /// </summary>
    private readonly MemoryCache runs = new(new MemoryCacheOptions { SizeLimit = 64 });

    /// <summary>How long a run's look-ups are kept after their last use: a file's messages arrive within minutes.</summary>
    public static readonly TimeSpan RunLookupsKept = TimeSpan.FromMinutes(10);

    /// <summary>Look-ups made (member authorization queries + authorization states), for the benchmark's look-ups per line.</summary>
    public long AuthorizationLookups => Interlocked.Read(ref lookups);

    private long lookups;

    /// <summary>The look-ups shared by the lines of ingest run <paramref name="runId"/>; without a run, fresh ones (a single message's).</summary>
    public InvoiceRunLookups ForRun(string? runId)
    {
        if (runId is null)
        {
            return new InvoiceRunLookups();
        }

        lock (runs) // GetOrCreate alone may create twice for messages of a new run arriving together
        {
            return runs.GetOrCreate(runId, entry =>
            {
                entry.Size = 1;
                entry.SlidingExpiration = RunLookupsKept;
                return new InvoiceRunLookups();
            })!;
        }
    }

    /// <summary>Whether the directory lists the billing provider (an atypical id without an NPI cannot be listed): one point read per run.</summary>
    public Task<bool> ProviderListedAsync(string providerId, InvoiceRunLookups run, CancellationToken cancellationToken) =>
        InvoiceRunLookups.OnceAsync(run.Providers, providerId, async () =>
            NationalProviderIdentifier.IsValid(providerId) && await directory.FindAsync(providerId, cancellationToken) is not null);

    /// <param name="run">The run's look-ups: a member's authorizations and their states are read once per file.</param>
    public async Task<ReceivedLine> CheckAsync(string providerId, bool providerListed, BilledLine line, InvoiceRunLookups run, CancellationToken cancellationToken)
    {
        var problems = new List<ContestReason>();
        var service = $"{line.Hcpcs}-{string.Join('+', line.Modifiers)}";
        string? authorizationId = null;
        var match = ServiceCodes.Match(line.Hcpcs, line.Modifiers);
        if (match is null || !BilledServices.TryServiceKey(match.Service, out var serviceKey))
        {
            problems.Add(new(ContestReasons.ServiceNotAuthorized, $"an authorizable service: {service} is not in the DHCS ECM/Community Supports code table"));
        }
        else if (serviceKey is not null)
        {
            var authorization = await AuthorizationAsync(line.MemberCin, serviceKey, run, cancellationToken);
            var dos = $"{line.ServiceFrom:yyyy-MM-dd}" + (line.ServiceTo is { } to && to != line.ServiceFrom ? $" to {to:yyyy-MM-dd}" : "");
            if (authorization?.Request is not { } request)
            {
                problems.Add(new(ContestReasons.NoAuthorization, $"an approved authorization for {serviceKey} ({service}) covering {dos}"));
            }
            else
            {
                authorizationId = request.AuthorizationId;
                if (authorization.Period is not { } period || authorization.Status is not (AuthorizationStatus.Authorized or AuthorizationStatus.Expired))
                {
                    problems.Add(new(ContestReasons.AuthorizationNotApproved, $"approval of authorization {request.AuthorizationId} for {serviceKey} (it is {Kebab(authorization.Status)})"));
                }
                else
                {
                    var calendar = CaliforniaWorkingDays.Current;
                    var first = calendar.DateOf(period.StartsAt);
                    var last = calendar.DateOf(period.EndsAt.AddTicks(-1));
                    if (line.ServiceFrom < first || (line.ServiceTo ?? line.ServiceFrom) > last)
                    {
                        problems.Add(new(ContestReasons.OutsideAuthorizedPeriod, $"an authorization for {serviceKey} in force on {dos}: authorization {request.AuthorizationId} runs {first:yyyy-MM-dd} to {last:yyyy-MM-dd}"));
                    }
                }

                // Units: a running total per authorization across its paid lines (one counter point read).
                if (BilledServices.UnitLimit(line.Hcpcs, line.Modifiers) is { } limit)
                {
                    var unitsPaid = await readModels.UnitsPaidAsync(request.AuthorizationId, limit.Service, cancellationToken);
                    if (BilledServices.UnitsBeyondAuthorization(request.AuthorizationId, limit.Service, limit.Units, unitsPaid, line.Units) is { } beyond)
                    {
                        problems.Add(beyond);
                    }
                }
            }
        }

        var duplicateKey = DuplicateKey(line);
        if (await PaidLineAsync(providerId, line, duplicateKey, run, cancellationToken) is { } paid)
        {
            problems.Add(new(ContestReasons.DuplicateOfPaidLine, $"a service not already paid: the same member, {service} and date of service were paid on invoice {paid.InvoiceId} line {paid.Line}"));
        }

        if (!providerListed)
        {
            problems.Add(new(ContestReasons.ProviderNotInDirectory, $"billing provider {providerId} in the plan's provider directory"));
        }

        return new ReceivedLine(line.Number, line.ServiceFrom, line.ServiceTo, line.Hcpcs, line.Modifiers, line.Units, line.Charge, authorizationId, problems, duplicateKey);
    }

    private async Task<AuthorizationState?> AuthorizationAsync(string cin, string serviceKey, InvoiceRunLookups run, CancellationToken cancellationToken)
    {
        var ids = await InvoiceRunLookups.OnceAsync(run.Members, cin, () =>
        {
            Interlocked.Increment(ref lookups);
            return new MemberAuthorizationIndex(storage).AuthorizationIdsAsync(cin, cancellationToken);
        });
        if (!ids.TryGetValue(serviceKey, out var id))
        {
            return null;
        }

        var state = await InvoiceRunLookups.OnceAsync(run.Authorizations, id, () =>
        {
            Interlocked.Increment(ref lookups);
            return runtime.GetStateAsync<AuthorizationState>(id, cancellationToken);
        });
        if (state is null)
        {
            run.Authorizations.TryRemove(id, out _); // claimed, its workflow not started yet: the next line reads again
        }

        return state;
    }

    /// <summary>
    /// The paid line <paramref name="line"/> repeats, or null. The paid lines of the line's member bucket at the provider are
    /// one row-range query, shared by the run's lines. Paid lines stored before the bucket prefix (counted by the projection,
    /// see <see cref="InvoiceReadModelsProjection.LegacyPaidLines"/>) are point-read under their old key while the provider has any.
    /// </summary>
    private async Task<PaidLineData?> PaidLineAsync(string providerId, BilledLine line, string duplicateKey, InvoiceRunLookups run, CancellationToken cancellationToken)
    {
        var bucket = duplicateKey[..duplicateKey.IndexOf('|')];
        var paidLines = await InvoiceRunLookups.OnceAsync(run.PaidLines, providerId + "|" + bucket, () => readModels.PaidLinesAsync(providerId, bucket, cancellationToken));
        if (paidLines.TryGetValue(duplicateKey, out var paid))
        {
            return paid;
        }

        var legacy = await InvoiceRunLookups.OnceAsync(run.LegacyPaidLines, providerId, () => readModels.LegacyPaidLinesAsync(providerId, cancellationToken));
        return legacy > 0 ? await readModels.PaidLineAsync(providerId, LegacyDuplicateKey(line), cancellationToken) : null;
    }

    /// <summary>
    /// <c>{member bucket}|{hash of member, service and dates of service}</c>: equal for the same service billed twice,
    /// unreadable as member data. The bucket (16 bits of a hash of the CIN) puts a member's paid lines at a provider in one
    /// row range; it is too coarse to tell a member (each bucket stands for tens of thousands of possible CINs).
    /// </summary>
    public static string DuplicateKey(BilledLine line)
    {
        return StableHash.Hex("calaimhub.invoice-member\u001f" + line.MemberCin.ToUpperInvariant(), 2) + "|" + LegacyDuplicateKey(line);
    }

    /// <summary>The key paid lines had before the member bucket: the hash alone.</summary>
    public static string LegacyDuplicateKey(BilledLine line)
    {
        var text = string.Join('\u001f', line.MemberCin.ToUpperInvariant(), line.Hcpcs.ToUpperInvariant(), string.Join('+', line.Modifiers.Select(m => m.ToUpperInvariant()).Order(StringComparer.Ordinal)),
            line.ServiceFrom.ToString("O"), (line.ServiceTo ?? line.ServiceFrom).ToString("O"));
        return StableHash.Hex("calaimhub.invoice-line\u001f" + text, 16);
    }

    private static string Kebab(AuthorizationStatus status) => System.Text.Json.JsonNamingPolicy.KebabCaseLower.ConvertName(status.ToString());
}

/// <summary>
/// What the lines of one ingest run look up once and share (a file bills the same members and provider over and over):
/// whether the directory lists a provider, a member's authorization ids per service, an authorization's state, the paid lines
/// of a member bucket at a provider. Concurrent
/// lines wait for the one look-up under way; a failed look-up is forgotten, so the retry reads again.
/// </summary>
public sealed class InvoiceRunLookups
{
    internal ConcurrentDictionary<string, Lazy<Task<bool>>> Providers { get; } = new(StringComparer.Ordinal);

    /// <summary>CIN → service key → authorization id (the CIN stays in memory only, never logged).</summary>
    internal ConcurrentDictionary<string, Lazy<Task<IReadOnlyDictionary<string, string>>>> Members { get; } = new(StringComparer.Ordinal);

    internal ConcurrentDictionary<string, Lazy<Task<AuthorizationState?>>> Authorizations { get; } = new(StringComparer.Ordinal);

    /// <summary><c>{provider}|{member bucket}</c> → the paid lines there, by duplicate key.</summary>
    internal ConcurrentDictionary<string, Lazy<Task<IReadOnlyDictionary<string, PaidLineData>>>> PaidLines { get; } = new(StringComparer.Ordinal);

    /// <summary>Provider → paid lines stored under keys without a member bucket.</summary>
    internal ConcurrentDictionary<string, Lazy<Task<long>>> LegacyPaidLines { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// <c>{partition}|{member row}</c> → a batch's member row (row key → CIN) while messages of its batch are still to come;
    /// removed once every line it names was read, so the run holds only the batches in flight.
    /// </summary>
    internal ConcurrentDictionary<string, Lazy<Task<BatchMembers?>>> MemberRows { get; } = new(StringComparer.Ordinal);

    internal static async Task<T> OnceAsync<T>(ConcurrentDictionary<string, Lazy<Task<T>>> cache, string key, Func<Task<T>> load)
    {
        var once = cache.GetOrAdd(key, _ => new Lazy<Task<T>>(load));
        try
        {
            return await once.Value;
        }
        catch
        {
            cache.TryRemove(new KeyValuePair<string, Lazy<Task<T>>>(key, once));
            throw;
        }
    }
}

/// <summary>A batch's member row as read: its lines' CINs by stored row key, and how many of its lines are still to be read.</summary>
public sealed class BatchMembers(IReadOnlyDictionary<string, string> cins)
{
    private int unread = cins.Count;

    public IReadOnlyDictionary<string, string> Cins { get; } = cins;

    /// <summary>Counts <paramref name="lines"/> lines read; true once all of the batch's lines were.</summary>
    public bool Read(int lines) => Interlocked.Add(ref unread, -lines) <= 0;
}
