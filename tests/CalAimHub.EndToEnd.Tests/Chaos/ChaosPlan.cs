using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using CalAimHub.Ingestion.Inbound;

namespace CalAimHub.Chaos;

/// <summary>A notice as the scenario knows it before its webhook-id: who gets it, what, about which subject.</summary>
public sealed record NoticeKey(string Subscriber, string Type, string Subject);

/// <summary>One referral: the webhook bodies it sends in order (status, body), and which of them the hub accepted.</summary>
public sealed class ChaosReferral(int number, IReadOnlyList<(string Status, string Body)> steps, bool redelivered)
{
    public int Number { get; } = number;

    public string PlatformReferralId => $"CHAOS-{Number:00000}";

    public string ReferralId => $"{ChaosTrial.Platform}:{PlatformReferralId}";

    public IReadOnlyList<(string Status, string Body)> Steps { get; } = steps;

    /// <summary>Its <c>referral.created</c> is delivered a second time under the same webhook-id (a platform's retry).</summary>
    public bool Redelivered { get; } = redelivered;

    /// <summary>Statuses answered 202, in order: the referral's final status is the last one.</summary>
    public ConcurrentQueue<string> Accepted { get; } = new();

    /// <summary>
    /// The status whose webhook never got an answer, however often it was sent (the driver stops the referral there): the
    /// hub may have applied it once or not at all, never twice. The unanswered webhook is a failure of its own.
    /// </summary>
    public string? InDoubt { get; set; }

    /// <summary>The statuses the hub may show: those accepted, with the one in doubt after them when it was applied.</summary>
    public string[] Applied(int recorded) =>
        InDoubt is { } status && recorded == Accepted.Count + 1 ? [.. Accepted, status] : [.. Accepted];
}

/// <summary>One authorization request: approve, deny, or no decision (its reminder timer comes due).</summary>
public sealed class ChaosAuthorization(int number, string? decision)
{
    public int Number { get; } = number;

    public string Cin => string.Create(CultureInfo.InvariantCulture, $"{80000000 + Number}E");

    public string? Decision { get; } = decision;

    /// <summary>The hub's id, once a POST was answered (201, or 409 naming the one an earlier lost answer started).</summary>
    public string? Id { get; set; }

    public string ExpectedStatus => Decision switch { "approve" => "authorized", "deny" => "denied", _ => "in-review" };
}

/// <summary>One partner file: its own partner, RTF rows with unique members, some invalid.</summary>
public sealed record ChaosFile(int Number, string Partner, string FileName, int Rows, int InvalidRows, string Content)
{
    public string BlobName => new InboundPath(Partner, "rtf", FileName).BlobName;

    public int ValidRows => Rows - InvalidRows;
}

/// <summary>Everything a trial sends, generated from its seed, and every notice the hub must deliver because of it.</summary>
public sealed class ChaosPlan
{
    public const string MemberSubscriber = "members";
    public const string AuthorizationSubscriber = "authorizations";
    public const string FileSubscriber = "files";
    public const string PoisonDeliveryId = "chaos-canary-always-500";

    public const string Assigned = "calaim.referral.assigned";
    public const string Closed = "calaim.referral.closed";
    public const string Received = "calaim.authorization.received";
    public const string Decided = "calaim.authorization.decided";
    public const string Approaching = "calaim.authorization.deadline-approaching";
    public const string FileProcessed = "calaimhub.file.processed";

    private ChaosPlan(IReadOnlyList<ChaosReferral> referrals, IReadOnlyList<ChaosAuthorization> authorizations, IReadOnlyList<ChaosFile> files)
    {
        Referrals = referrals;
        Authorizations = authorizations;
        Files = files;
    }

    public IReadOnlyList<ChaosReferral> Referrals { get; }

    public IReadOnlyList<ChaosAuthorization> Authorizations { get; }

    public IReadOnlyList<ChaosFile> Files { get; }

    public static ChaosPlan Create(ChaosTrialOptions options, int seed)
    {
        var random = new Random(seed);
        var referrals = Enumerable.Range(0, options.Referrals).Select(n =>
        {
            var id = $"CHAOS-{n:00000}";
            var cin = string.Create(CultureInfo.InvariantCulture, $"{70000000 + n}C");
            List<(string, string)> steps = [("Pending", Created(id, cin))];
            // Shuffled lengths so kills land on every kind of step: closed loop, accepted, only created.
            var length = random.Next(3);
            if (length >= 1)
            {
                steps.Add(("Accepted", Status(id, "Accepted", null, "2026-05-05T10:00:00-07:00")));
            }

            if (length == 2)
            {
                steps.Add(("Outreach Initiated", Status(id, "Outreach Initiated", null, "2026-05-06T10:00:00-07:00")));
                steps.Add(("Referral Loop Closed", Status(id, "Referral Loop Closed", "Services Received", "2026-05-07T10:00:00-07:00")));
            }

            return new ChaosReferral(n, steps, redelivered: n % 5 == 0);
        }).ToArray();
        string?[] decisions = ["approve", "deny", null];
        var authorizations = Enumerable.Range(0, options.Authorizations).Select(n => new ChaosAuthorization(n, decisions[random.Next(3)])).ToArray();
        var files = Enumerable.Range(0, options.Files).Select(n =>
        {
            var invalid = n % 3 == 1 ? options.InvalidRowsPerBadFile : 0;
            return new ChaosFile(n, $"chaos-f{n:00}", $"rtf-{n:00}.csv", options.RowsPerFile, invalid, RtfFile(n, options.RowsPerFile, invalid));
        }).ToArray();
        return new ChaosPlan(referrals, authorizations, files);
    }

    /// <summary>The notices the hub owes once everything settled, and those it may also send (a reminder that came due before a
    /// delayed decision).</summary>
    public (HashSet<NoticeKey> Required, HashSet<NoticeKey> Allowed) Notices()
    {
        var required = new HashSet<NoticeKey>();
        var allowed = new HashSet<NoticeKey>();
        foreach (var referral in Referrals)
        {
            var statuses = referral.Accepted.ToArray();
            foreach (var subscriber in new[] { ChaosTrial.Platform, MemberSubscriber })
            {
                if (statuses.Contains("Accepted"))
                {
                    required.Add(new(subscriber, Assigned, referral.ReferralId));
                }

                if (statuses.Contains("Referral Loop Closed"))
                {
                    required.Add(new(subscriber, Closed, referral.ReferralId));
                }

                // Owed if the hub applied the status in doubt, not owed otherwise: either way, one webhook-id at most.
                if (referral.InDoubt is "Accepted")
                {
                    allowed.Add(new(subscriber, Assigned, referral.ReferralId));
                }

                if (referral.InDoubt is "Referral Loop Closed")
                {
                    allowed.Add(new(subscriber, Closed, referral.ReferralId));
                }
            }
        }

        foreach (var authorization in Authorizations.Where(a => a.Id is not null))
        {
            required.Add(new(AuthorizationSubscriber, Received, authorization.Id!));
            if (authorization.Decision is null)
            {
                required.Add(new(AuthorizationSubscriber, Approaching, authorization.Id!));
            }
            else
            {
                required.Add(new(AuthorizationSubscriber, Decided, authorization.Id!));
                allowed.Add(new(AuthorizationSubscriber, Approaching, authorization.Id!));
            }
        }

        foreach (var file in Files)
        {
            required.Add(new(FileSubscriber, FileProcessed, $"{InboundPath.ResultsContainer}/{InboundPath.ReportNames(file.BlobName).Json}"));
        }

        return (required, allowed);
    }

    private static string Created(string id, string cin) => $$"""
        {"type":"referral.created","referralId":"{{id}}","occurredAt":"2026-05-01T09:30:00-07:00","service":{"code":"{{ChaosTrial.Service}}"},"member":{"cin":"{{cin}}"},"referringEntity":{"name":"Chaos County Hospital","npi":"1234567893"},"urgency":"routine"}
        """;

    private static string Status(string id, string status, string? reason, string occurredAt) => $$"""
        {"type":"referral.status-changed","referralId":"{{id}}","occurredAt":"{{occurredAt}}","status":"{{status}}","receivingProviderNpi":"{{ChaosTrial.ProviderNpi}}"{{(reason is null ? "" : $",\"reason\":\"{reason}\"")}}}
        """;

    /// <summary>An RTF (version A) file of <paramref name="rows"/> rows with unique members; <paramref name="invalid"/> of them, spread
    /// through the file, carry a 7-digit CIN and are rejected.</summary>
    private static string RtfFile(int file, int rows, int invalid)
    {
        const string header = "Primary Payer (MCP) Identifier,MCP Name,Member Client Index Number (CIN),Member Last Name,Member First Name,Member New Address Indicator,Member Homelessness Indicator,Member Residential Address,Member Residential City,Member Residential State,Member Residential Zip,Member New Phone Number Indicator,Member Phone Number,Member POF Indicator,Member POF,Member ECM Status,Member Acuity Level,ECM Enrollment Start Date,ECM Enrollment End Date,Date of Latest Care Plan Revision,Date of Most Recent Care Conference,Date Assessment Started,Date of Most Recent Completed Assessment,Date of Most Recent Encounter with Member,ECM Lead Care Manager Name,ECM Lead Care Manager Phone Number,ECM Lead Care Manager Email,Discontinuation Date,Discontinuation Reason Code,Discontinuation Reason,In Person,Telephonic/Video,Member Information Return Transmission File Production Date,Member Information File Reporting Period,ECM Provider Name,ECM Provider NPI,ECM Provider TIN,ECM Provider Phone Number,Referral Status,Date of Referral Status Update,Reason for Referral Loop Closure";
        var text = new StringBuilder(rows * 330).Append(header).Append("\r\n");
        var every = invalid == 0 ? int.MaxValue : rows / invalid;
        for (var n = 0; n < rows; n++)
        {
            var bad = invalid > 0 && n % every == every / 2 && n / every < invalid;
            var cin = bad
                ? string.Create(CultureInfo.InvariantCulture, $"{1000000 + n}")
                : string.Create(CultureInfo.InvariantCulture, $"{60000000 + (file * 100_000) + n}{(char)('A' + (n % 26))}");
            text.Append(CultureInfo.InvariantCulture,
                $"MCP001,Example Health Plan,{cin},Member{n},Pat,N,N,,,,,N,,Y,1a,Enrolled,High,07/01/2025,,11/20/2025,,07/02/2025,07/09/2025,12/18/2025,Casey Caremanager,(555) 555-0100,casey@provider.example,,,,2,1,01/05/2026,12/2025,Example ECM Provider,1234567893,12-3456789,555-555-0101,Accepted,12/10/2025,\r\n");
        }

        return text.ToString();
    }
}
