using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Azure;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using CalAimHub.Domain;
using CalAimHub.Domain.Consent;
using CalAimHub.Functions.Consent;
using CalAimHub.Functions.Ingestion;
using CalAimHub.Functions.Invocations;
using CalAimHub.Functions.Notifications;
using CalAimHub.Hosting.Storage;
using CalAimHub.Ingestion.Outbound;
using Microsoft.Extensions.Options;

namespace CalAimHub.Functions.Outbound;

/// <summary>A request to generate one outbound file: from the timer, the operator's route or a mini-MIF check.</summary>
/// <param name="Program"><c>ecm</c> or <c>cs</c>; needed for a mini-MIF (the MIF kinds and the CS status file imply it).</param>
/// <param name="Date">The status day (<c>yyyy-MM-dd</c>) of a CS authorization status file.</param>
public sealed record OutboundRequest(
    [property: JsonPropertyName("providerId")] string ProviderId,
    [property: JsonPropertyName("period")] string Period,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("program")] string? Program,
    [property: JsonPropertyName("date")] string? Date);

/// <summary>What a generation did.</summary>
public sealed record OutboundOutcome(string Result, OutboundFileRecord? File)
{
    public const string Generated = "generated";
    public const string Unchanged = "unchanged";
    public const string Nothing = "nothing-to-send";
}

/// <summary>The <c>outbound-generation</c> queue: one message per file to generate, so a period's 500 providers spread over the instances and a crash retries one file.</summary>
public sealed class OutboundGenerationQueue(StorageAccount storage)
{
    public const string QueueName = "outbound-generation";

    public Task EnqueueAsync(OutboundRequest request, CancellationToken cancellationToken) =>
        storage.Queues.GetQueueClient(QueueName).SendMessageAsync(JsonSerializer.Serialize(request), cancellationToken);
}

/// <summary>
/// Generates one outbound file, Mirth's channel turned around: source (the provider's assignment rows, one partition range)
/// → join (<see cref="IMemberFacts"/>: authorizations and referrals by key) → consent filter (<see cref="IConsentGate"/>,
/// per member, beside its join: withheld categories' columns are blanked and counted) → row mapper (<see cref="OutboundLayout"/>)
/// → destinations: the blob <c>outbound/{providerId}/{kind}/{file}</c> (blocks staged, committed once: never visible
/// half-written; deterministic bytes, so a re-run with the same data commits nothing new), its manifest, the disclosure
/// log, and a signed notice whose delivery id is the path + content hash (a re-run sends none).
/// </summary>
public sealed partial class OutboundGenerator(
    StorageAccount storage, OutboundAssignments assignments, OutboundLedger ledger, IMemberFacts facts, IConsentGate consent, IDisclosureLog disclosures,
    NotificationQueue notifications, PartnerDirectory partners, ExchangeAccount exchange, IOptions<OutboundOptions> options, TimeProvider time, ILogger<OutboundGenerator> logger)
{
    public const string Container = "outbound";
    public const string NoticeType = "calaimhub.outbound.file-available";
    private const int JoinParallelism = 16;

    /// <summary>Members of a file whose join has started and whose row is not yet written (see <see cref="RowsAsync"/>).</summary>
    private const int MembersInFlight = 64;

    private OutboundOptions Options => options.Value;

    public static bool IsPeriod(string? period) =>
        period is { Length: 7 } && DateOnly.TryParseExact(period + "-01", "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _);

    public async Task<OutboundOutcome> GenerateAsync(OutboundRequest request, CancellationToken cancellationToken)
    {
        var kind = request.Kind;
        var program = kind switch
        {
            SentFileKinds.Mif => OutboundAssignments.Ecm,
            SentFileKinds.CsMif or SentFileKinds.CsAuthorizationStatus => OutboundAssignments.Cs,
            SentFileKinds.MiniMif when request.Program is OutboundAssignments.Ecm or OutboundAssignments.Cs => request.Program,
            _ => throw new FunctionFailure($"outbound request kind '{kind}' (program '{request.Program}') is not a file the hub generates", permanent: true),
        };
        if (!IsPeriod(request.Period))
        {
            throw new FunctionFailure($"outbound request period '{request.Period}' is not yyyy-MM", permanent: true);
        }

        var layout = OutboundLayouts.Default[kind == SentFileKinds.CsAuthorizationStatus ? Options.CsStatusLayout : program == OutboundAssignments.Cs ? Options.CsLayout : Options.EcmLayout];
        var periodStart = DateOnly.ParseExact(request.Period + "-01", "yyyy-MM-dd", CultureInfo.InvariantCulture);

        string unit;
        var seq = "";
        DateOnly productionDate;
        OutboundFileRecord? existing;
        IAsyncEnumerable<AssignedMember> source;
        if (kind == SentFileKinds.MiniMif)
        {
            // Only once the period's MIF is out: until then the MIF itself carries every member.
            var mifKind = program == OutboundAssignments.Cs ? SentFileKinds.CsMif : SentFileKinds.Mif;
            var mif = await ledger.FindAsync(request.Period, OutboundLedger.RowKey(request.ProviderId, mifKind, request.Period), cancellationToken);
            if (mif is null)
            {
                return new OutboundOutcome(OutboundOutcome.Nothing, null);
            }

            if (mif.Status != OutboundFileRecord.Delivered)
            {
                throw new FunctionFailure($"the {mifKind} of {request.Period} for this provider is still being generated; the mini-MIF check is retried after it");
            }

            // A mini-MIF's name and date come from its whole member set, so its (few) members are read first.
            var members = await ToListAsync(assignments.MembersAsync(request.ProviderId, request.Period, program, cancellationToken), m => m.SentIn is null);
            if (members.Count == 0)
            {
                return new OutboundOutcome(OutboundOutcome.Nothing, null);
            }

            seq = Hash(string.Join('\n', members.Select(m => m.RowKey)))[..12];
            unit = $"{program}-{seq}";
            productionDate = members.Select(m => DateOnly.TryParseExact(m.AssignmentDate, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d : periodStart).Max();
            existing = await StartAsync(request.ProviderId, request.Period, kind, unit, layout, cancellationToken);
            source = members.ToAsyncEnumerable();
        }
        else
        {
            if (kind == SentFileKinds.CsAuthorizationStatus)
            {
                productionDate = DateOnly.TryParseExact(request.Date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
                    ? day
                    : throw new FunctionFailure($"a CS authorization status request needs its status day as yyyy-MM-dd, not '{request.Date}'", permanent: true);
                unit = productionDate.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
            }
            else
            {
                productionDate = periodStart;
                unit = request.Period;
            }

            // The ledger row exists before the members are read: an assignment arriving now either is read here or finds
            // the row and queues a mini-MIF check (AssignmentEventsFunction), so no member falls between the two.
            existing = await StartAsync(request.ProviderId, request.Period, kind, unit, layout, cancellationToken);
            source = assignments.MembersAsync(request.ProviderId, request.Period, program, cancellationToken);
        }

        // Members stream through join, consent and layout into the file: only a window of them is in flight, and what is kept
        // per member after its row is written (for the disclosure log and the sent marks) is small, so memory does not
        // follow the file's size.
        var categories = layout.Columns.Select(c => DisclosureCategories.Current.CategoryOf(c.Name)).ToArray();
        var shared = categories.Distinct(StringComparer.Ordinal).ToArray();
        var sent = new List<SentMember>();
        var withheldFields = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var rows = RowsAsync(source, request, layout, categories, shared, productionDate, sent, withheldFields, cancellationToken);

        // XLSX is built in memory anyway, so with it the rows are kept once for every format; CSV alone streams them.
        var kept = Options.Formats is ["csv"] ? null : await rows.ToArrayAsync(cancellationToken);

        // Destinations: each format's blob, committed once.
        var paths = new List<string>();
        var hashes = new List<string>();
        var changed = false;
        foreach (var format in Options.Formats)
        {
            var fileName = Options.FileName(kind, request.ProviderId, request.Period, productionDate, seq, format);
            var path = $"{request.ProviderId}/{kind}/{fileName}";
            var blob = storage.Blobs.GetBlobContainerClient(Container).GetBlockBlobClient(path);

            // The committed copy's hash is read while the blocks are staged: staging never touches the committed blob.
            var currentHash = CurrentHashAsync(blob, cancellationToken);
            await using var staging = new BlockStagingStream(blob);
            var staged = StageAsync(format, layout, kept?.ToAsyncEnumerable() ?? rows, staging, cancellationToken);
            await Task.WhenAll((Task)currentHash, staged);
            var (current, hash) = (await currentHash, await staged);
            var commit = new CommitBlockListOptions
            {
                HttpHeaders = new BlobHttpHeaders { ContentType = format == "csv" ? OutboundFileWriter.CsvContentType + "; charset=utf-8" : OutboundFileWriter.XlsxContentType },
                Metadata = new Dictionary<string, string>
                {
                    ["sha256"] = hash,
                    ["period"] = request.Period,
                    ["ledger"] = OutboundLedger.RowKey(request.ProviderId, kind, unit),
                    ["layout"] = layout.Id,
                },
            };
            if (current != hash)
            {
                await blob.CommitBlockListAsync(staging.Blocks, commit, cancellationToken);
                changed = true;
            }

            // Before the notice: an SFTP partner finds the file in its out- container when told. Checked on every run by its
            // own hash, so a crash between the two commits is mended by the retry.
            await MirrorAsync(blob, path, hash, commit, cancellationToken);

            paths.Add(path);
            hashes.Add(hash);
        }

        var sameAsBefore = !changed && existing is { GeneratedAt: not null } && existing.Hashes.SequenceEqual(hashes);
        var generatedAt = sameAsBefore ? existing!.GeneratedAt!.Value : time.GetUtcNow();
        var record = new OutboundFileRecord(request.ProviderId, request.Period, kind, unit, OutboundFileRecord.Committed, paths, hashes, sent.Count,
            withheldFields, layout.Id, generatedAt, sameAsBefore ? existing!.DeliveredAt : null, null);

        // After the commit, and independent of each other, so they run at the same time: the manifest, the ledger's
        // `committed` (skipped when the row already says `delivered` with these hashes: the write after the notice says the
        // same), what went to whom (idempotent on the document path and member), and the members' sent marks. The marks
        // come before `delivered`: a mini-MIF check waits for `delivered`, so it never sees a member of this file unmarked.
        var purpose = SentFileKinds.PurposeOf(kind);
        var recorded = new List<Task> { WriteManifestAsync(record, cancellationToken) };
        if (!(sameAsBefore && existing!.Status == OutboundFileRecord.Delivered))
        {
            recorded.Add(ledger.SaveAsync(record, cancellationToken));
        }

        recorded.AddRange(paths.Select(path => disclosures.RecordAsync([.. sent.Select(m =>
            new Disclosure(Disclosure.IdFor(path, m.Line.Cin), m.Line.Cin, request.ProviderId, purpose, path, generatedAt,
                [.. shared.Where(c => !m.Withheld.Contains(c))], [.. shared.Where(m.Withheld.Contains)])).DistinctBy(d => d.DisclosureId)], cancellationToken)));

        // A ledger row this call created means no earlier attempt recorded this file's lines.
        recorded.Add(disclosures.RecordSentFileAsync(new SentMemberFile(request.ProviderId, request.Period, kind, paths[0], generatedAt,
            [.. sent.Select(m => m.Line)]),
            firstRecording: existing is null, cancellationToken));
        if (kind != SentFileKinds.CsAuthorizationStatus)
        {
            recorded.Add(assignments.MarkSentAsync(request.ProviderId, request.Period, sent.Where(m => m.Unsent).Select(m => m.RowKey), paths[0], cancellationToken));
        }

        await Task.WhenAll(recorded);

        // The notice: the path, never member data; its id is path + content hash, so the same bytes are announced once.
        var deliveredAt = record.DeliveredAt;
        if (!sameAsBefore || deliveredAt is null)
        {
            deliveredAt = await NotifyAsync(record, cancellationToken);
        }

        record = record with { Status = OutboundFileRecord.Delivered, DeliveredAt = deliveredAt };
        await ledger.SaveAsync(record, cancellationToken);

        LogGenerated(logger, kind, request.ProviderId, request.Period, sent.Count, sameAsBefore ? "unchanged" : "new content");
        return new OutboundOutcome(sameAsBefore ? OutboundOutcome.Unchanged : OutboundOutcome.Generated, record);
    }

    /// <summary>
    /// The partner's copy on the SFTP exchange account (<c>out-{provider}/{kind}/{file}</c>), when the account is configured and
    /// the provider has its containers: the committed file streamed into staged blocks, committed once, skipped when the copy
    /// already has this content hash.
    /// </summary>
    private async Task MirrorAsync(BlockBlobClient source, string path, string hash, CommitBlockListOptions commit, CancellationToken cancellationToken)
    {
        if (exchange.OutboundCopy(path) is not { } copy || await CurrentHashAsync(copy, cancellationToken) == hash)
        {
            return;
        }

        if (!(await copy.GetParentBlobContainerClient().ExistsAsync(cancellationToken)).Value)
        {
            LogNoExchangeContainer(logger, path.Split('/')[0]);
            return;
        }

        await using var staging = new BlockStagingStream(copy);
        await using (var content = await source.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false) { BufferSize = 4 * 1024 * 1024 }, cancellationToken))
        {
            await content.CopyToAsync(staging, 4 * 1024 * 1024, cancellationToken);
        }

        if (await staging.CompleteAsync(cancellationToken) != hash)
        {
            throw new FunctionFailure("the outbound file changed while it was copied to the SFTP exchange account; the generation is retried");
        }

        await copy.CommitBlockListAsync(staging.Blocks, commit, cancellationToken);
    }

    /// <summary>The delivery id of the notice for a file: path + content hash (a re-run with the same bytes has the same id).</summary>
    public static string NoticeId(string path, string sha256) => "outbound-" + Hash(path + "|" + sha256)[..32];

    private async Task<DateTimeOffset?> NotifyAsync(OutboundFileRecord record, CancellationToken cancellationToken)
    {
        var partner = partners.Find(record.ProviderId);
        if (partner?.NotificationUrl is not { Length: > 0 } url)
        {
            LogNoSubscriber(logger, record.ProviderId);
            return null;
        }

        for (var i = 0; i < record.Paths.Count; i++)
        {
            var path = record.Paths[i];
            var data = JsonSerializer.SerializeToElement(new OutboundNotice(record.ProviderId, record.Period, record.Kind, path, $"/api/outbound/{path}", record.Hashes[i], record.Members));
            await notifications.EnqueueAsync(new NotificationMessage(NoticeId(path, record.Hashes[i]), partner.Subscriber ?? partner.Id, url, NoticeType,
                NotificationMessage.DefaultSource, path, record.GeneratedAt, data), cancellationToken);
        }

        return time.GetUtcNow();
    }

    private async Task WriteManifestAsync(OutboundFileRecord record, CancellationToken cancellationToken)
    {
        var manifest = new OutboundManifest(record.ProviderId, record.Period, record.Kind, record.Layout, record.Members,
            [.. record.Paths.Select((p, i) => new OutboundManifestFile(p, record.Hashes[i]))], record.WithheldFields);
        var blob = storage.Blobs.GetBlobContainerClient(Container).GetBlobClient(record.Paths[0] + ".manifest.json");
        await blob.UploadAsync(new BinaryData(JsonSerializer.SerializeToUtf8Bytes(manifest, ManifestJson)), new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" },
        }, cancellationToken);
    }

    private static readonly JsonSerializerOptions ManifestJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The ledger row as it was before this call, or null when this call wrote it (<c>generating</c>).</summary>
    private Task<OutboundFileRecord?> StartAsync(string providerId, string period, string kind, string unit, OutboundLayout layout, CancellationToken cancellationToken) =>
        ledger.StartAsync(new OutboundFileRecord(providerId, period, kind, unit, OutboundFileRecord.Generating, [], [], 0,
            new Dictionary<string, int>(), layout.Id, null, null, null), cancellationToken);

    /// <summary>Writes the file into staged blocks; returns its content hash.</summary>
    private static async Task<string> StageAsync(string format, OutboundLayout layout, IAsyncEnumerable<string[]> rows, BlockStagingStream staging, CancellationToken cancellationToken)
    {
        if (format == "csv")
        {
            await OutboundFileWriter.WriteCsvAsync(layout, rows, staging, cancellationToken);
        }
        else
        {
            await staging.WriteAsync(OutboundFileWriter.Xlsx(layout, await rows.ToArrayAsync(cancellationToken)), cancellationToken);
        }

        return await staging.CompleteAsync(cancellationToken);
    }

    private static async Task<string?> CurrentHashAsync(BlockBlobClient blob, CancellationToken cancellationToken)
    {
        try
        {
            return (await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value.Metadata.TryGetValue("sha256", out var hash) ? hash : null;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    /// <summary>
    /// The file's rows in member order. Each member's join and consent decision are queued when it enters a window of
    /// <see cref="MembersInFlight"/> members (at most <see cref="JoinParallelism"/> members' look-ups running), and its row is made when
    /// it leaves the window at the front; a slow member holds back only the window, never the whole file. Per member,
    /// <paramref name="sent"/> keeps what the disclosure log and the sent marks need.
    /// </summary>
    private async IAsyncEnumerable<string[]> RowsAsync(IAsyncEnumerable<AssignedMember> source, OutboundRequest request, OutboundLayout layout, string[] categories,
        string[] shared, DateOnly productionDate, List<SentMember> sent, SortedDictionary<string, int> withheldFields,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var joins = new SemaphoreSlim(JoinParallelism);
        var productionDay = productionDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var window = new Queue<(AssignedMember Member, Task<(MemberFacts, IReadOnlyDictionary<string, ConsentDecision>)> Looked)>(MembersInFlight);

        // Consent reads are keyed by CIN like the join's and need nothing from it, so the two run at the same time; both
        // hold the member's join slot, which bounds the requests in flight per file.
        async Task<(MemberFacts, IReadOnlyDictionary<string, ConsentDecision>)> LookUpAsync(AssignedMember member)
        {
            await joins.WaitAsync(cancellationToken);
            try
            {
                var deciding = consent.DecideAsync(request.ProviderId, [member.Cin], shared, productionDate, cancellationToken);
                var joining = facts.ForAsync(member.Cin, member.Service, cancellationToken);
                await Task.WhenAll(deciding, joining);
                return (await joining, await deciding);
            }
            finally
            {
                joins.Release();
            }
        }

        async Task<string[]> RowOfAsync((AssignedMember Member, Task<(MemberFacts, IReadOnlyDictionary<string, ConsentDecision>)> Looked) next)
        {
            var member = next.Member;
            var (joined, decisions) = await next.Looked;
            var values = new Dictionary<string, string>(member.Values, StringComparer.Ordinal);
            foreach (var (name, value) in joined.Values)
            {
                values[name] = value;
            }

            values[OutboundFacts.Period] = request.Period;
            values[OutboundFacts.ProductionDate] = productionDay;
            var withheld = decisions.GetValueOrDefault(member.Cin)?.Withheld ?? NoneWithheld;
            foreach (var category in withheld.Where(categories.Contains))
            {
                withheldFields[category] = withheldFields.GetValueOrDefault(category) + 1;
            }

            sent.Add(new SentMember(member.RowKey, member.SentIn is null, withheld,
                new SentMemberLine(member.Cin, joined.AuthorizationId, joined.AuthorizationStart, joined.AuthorizationEnd, joined.ReferralIds)));
            return layout.Row(values, c => withheld.Contains(categories[c]));
        }

        await foreach (var member in source.WithCancellation(cancellationToken))
        {
            if (window.Count == MembersInFlight)
            {
                yield return await RowOfAsync(window.Dequeue());
            }

            window.Enqueue((member, LookUpAsync(member)));
        }

        while (window.Count > 0)
        {
            yield return await RowOfAsync(window.Dequeue());
        }
    }

    private static readonly IReadOnlySet<string> NoneWithheld = new HashSet<string>();

    /// <summary>What is kept of a member once its row is written.</summary>
    private sealed record SentMember(string RowKey, bool Unsent, IReadOnlySet<string> Withheld, SentMemberLine Line);

    private static async Task<List<AssignedMember>> ToListAsync(IAsyncEnumerable<AssignedMember> members, Func<AssignedMember, bool> keep)
    {
        var list = new List<AssignedMember>();
        await foreach (var member in members)
        {
            if (keep(member))
            {
                list.Add(member);
            }
        }

        return list;
    }

    private static string Hash(string text) => StableHash.Hex(text, 32);

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbound {Kind} for provider {ProviderId}, period {Period}: {Members} members, {Outcome}")]
    private static partial void LogGenerated(ILogger logger, string kind, string providerId, string period, int members, string outcome);

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbound file for provider {ProviderId} not copied to the SFTP exchange account: it has no out- container there (no SFTP user)")]
    private static partial void LogNoExchangeContainer(ILogger logger, string providerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbound file for provider {ProviderId} generated without a notice: no Ingestion:Partners:{ProviderId}:NotificationUrl")]
    private static partial void LogNoSubscriber(ILogger logger, string providerId);
}

/// <summary>The notice's data: where the file is and how to fetch it; a member count, never member data.</summary>
public sealed record OutboundNotice(
    [property: JsonPropertyName("providerId")] string ProviderId,
    [property: JsonPropertyName("period")] string Period,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("fetch")] string Fetch,
    [property: JsonPropertyName("sha256")] string Sha256,
    [property: JsonPropertyName("members")] int Members);

/// <summary>The manifest beside a file (<c>{file}.manifest.json</c>): its layout, members, content hashes and the withheld categories (member counts, never values).</summary>
public sealed record OutboundManifest(string ProviderId, string Period, string Kind, string Layout, int Members, IReadOnlyList<OutboundManifestFile> Files, IReadOnlyDictionary<string, int> WithheldFields);

public sealed record OutboundManifestFile(string Path, string Sha256);
