using System.Text.Json;
using System.Text.Json.Serialization;

namespace CalAimHub.Domain.Referrals;

/// <summary>
/// The DHCS closed-loop referral statuses (PHM Policy Guide CLR addendum, effective 1 July 2025; the RTF
/// "Referral Status" element). Serialized as the DHCS text, e.g. <c>"Outreach Initiated"</c>, because that is what
/// plans report and what partners send.
/// </summary>
[JsonConverter(typeof(ReferralStatusJsonConverter))]
public enum ReferralStatus
{
    Pending,
    Accepted,
    Declined,
    OutreachInitiated,
    ReferralLoopClosed,
}

public static class ReferralStatuses
{
    /// <summary>The one closure reason DHCS confirms ("Reason for Referral Loop Closure"); the others are not published.</summary>
    public const string ServicesReceived = "Services Received";

    /// <summary>DHCS text of each status, in the order DHCS lists them.</summary>
    public static readonly IReadOnlyList<KeyValuePair<ReferralStatus, string>> DhcsNames =
    [
        new(ReferralStatus.Pending, "Pending"),
        new(ReferralStatus.Accepted, "Accepted"),
        new(ReferralStatus.Declined, "Declined"),
        new(ReferralStatus.OutreachInitiated, "Outreach Initiated"),
        new(ReferralStatus.ReferralLoopClosed, "Referral Loop Closed"),
    ];

    public static string DhcsName(this ReferralStatus status) => DhcsNames.First(n => n.Key == status).Value;

    /// <summary>The status named by its DHCS text (case and surrounding blanks ignored), or null.</summary>
    public static ReferralStatus? Parse(string? text) =>
        DhcsNames.Where(n => string.Equals(n.Value, text?.Trim(), StringComparison.OrdinalIgnoreCase)).Select(n => (ReferralStatus?)n.Key).FirstOrDefault();

    /// <summary>A declined referral must say why, and a closed loop must carry its closure reason (DHCS CLR guidance).</summary>
    public static bool ReasonRequired(this ReferralStatus status) => status is ReferralStatus.Declined or ReferralStatus.ReferralLoopClosed;

    public static string AllNames => string.Join(", ", DhcsNames.Select(n => $"'{n.Value}'"));
}

public sealed class ReferralStatusJsonConverter : JsonConverter<ReferralStatus>
{
    public override ReferralStatus Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        ReferralStatuses.Parse(reader.GetString()) ?? throw new JsonException($"not a DHCS referral status; use one of {ReferralStatuses.AllNames}");

    public override void Write(Utf8JsonWriter writer, ReferralStatus value, JsonSerializerOptions options) => writer.WriteStringValue(value.DhcsName());
}
