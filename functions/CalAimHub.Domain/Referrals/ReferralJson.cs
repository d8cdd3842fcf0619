using System.Text.Json;
using System.Text.Json.Serialization;

namespace CalAimHub.Domain.Referrals;

/// <summary>How referral events and snapshots are written to storage and queues: camelCase, kebab-case enum values.</summary>
public static class ReferralJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}

/// <summary>Enum values as kebab-case text (<c>status-changed</c>), for stored and queued JSON.</summary>
public sealed class KebabCaseEnumConverter<T>() : JsonStringEnumConverter<T>(JsonNamingPolicy.KebabCaseLower, allowIntegerValues: false)
    where T : struct, Enum;
