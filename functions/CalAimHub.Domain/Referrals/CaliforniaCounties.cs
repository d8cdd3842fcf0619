namespace CalAimHub.Domain.Referrals;

/// <summary>The 58 California counties, the unit of Medi-Cal managed care service areas (routing by county).</summary>
public static class CaliforniaCounties
{
    public static readonly IReadOnlyList<string> Names =
    [
        "Alameda", "Alpine", "Amador", "Butte", "Calaveras", "Colusa", "Contra Costa", "Del Norte", "El Dorado", "Fresno",
        "Glenn", "Humboldt", "Imperial", "Inyo", "Kern", "Kings", "Lake", "Lassen", "Los Angeles", "Madera", "Marin",
        "Mariposa", "Mendocino", "Merced", "Modoc", "Mono", "Monterey", "Napa", "Nevada", "Orange", "Placer", "Plumas",
        "Riverside", "Sacramento", "San Benito", "San Bernardino", "San Diego", "San Francisco", "San Joaquin",
        "San Luis Obispo", "San Mateo", "Santa Barbara", "Santa Clara", "Santa Cruz", "Shasta", "Sierra", "Siskiyou",
        "Solano", "Sonoma", "Stanislaus", "Sutter", "Tehama", "Trinity", "Tulare", "Tuolumne", "Ventura", "Yolo", "Yuba",
    ];

    /// <summary>
    /// What is wrong with a member's county that is not one of these. The value is not echoed: a member's county is a
    /// HIPAA geographic identifier, kept out of answers and logs like the CIN.
    /// </summary>
    public const string NotACounty = "is not a California county: use one of the 58 county names, e.g. 'Los Angeles' or 'Los Angeles County'";

    /// <summary>The county's canonical name ("los angeles county" → "Los Angeles"), or null.</summary>
    public static string? Find(string? name)
    {
        var text = name?.Trim() ?? "";
        if (text.EndsWith(" County", StringComparison.OrdinalIgnoreCase))
        {
            text = text[..^" County".Length].TrimEnd();
        }

        return Names.FirstOrDefault(n => string.Equals(n, text, StringComparison.OrdinalIgnoreCase));
    }
}
