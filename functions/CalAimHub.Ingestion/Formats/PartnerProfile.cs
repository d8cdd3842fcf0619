using System.Text;

namespace CalAimHub.Ingestion.Formats;

/// <summary>
/// A registered partner (from configuration <c>Ingestion:Partners:{id}</c>): who gets the result notice, which kinds it may send,
/// and per kind how its files differ from the baseline schema (renamed headers, added columns).
/// </summary>
public sealed record PartnerProfile
{
    public required string Id { get; init; }

    /// <summary>Notification subscriber id (its signing secrets are configured under Notifications:Subscribers).</summary>
    public string? Subscriber { get; init; }

    /// <summary>Where the file-result CloudEvent is POSTed.</summary>
    public string? NotificationUrl { get; init; }

    /// <summary>Kinds this partner may send; empty = all.</summary>
    public IReadOnlyList<string> Kinds { get; init; } = [];

    /// <summary>Per kind: baseline header → the partner's header.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Renames { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, string>>();

    /// <summary>Per kind: extra headers the partner adds; kept and stored as text.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> ExtraColumns { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>
    /// Kinds whose files this partner writes with ISO 8601 dates (YYYY-MM-DD); MM/DD/YYYY is accepted too. For other kinds an ISO
    /// date in a date column is rejected with the MM/DD/YYYY spelling to use.
    /// </summary>
    public IReadOnlyList<string> IsoDates { get; init; } = [];

    /// <summary>
    /// The character encoding of the partner's CSV files when it is not UTF-8 (e.g. <c>windows-1252</c>, <c>iso-8859-1</c>): a
    /// single-byte encoding, as legacy exports write. Null: UTF-8, and other bytes are a <c>file.encoding</c> problem.
    /// </summary>
    public string? Encoding { get; init; }

    public bool Sends(string kind) => Kinds.Count == 0 || Kinds.Contains(kind, StringComparer.OrdinalIgnoreCase);

    public bool WritesIsoDates(string kind) => IsoDates.Contains(kind, StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// <see cref="Encoding"/> resolved (Windows code pages come from System.Text.Encoding.CodePages, in the shared framework);
    /// UTF-8 when none is named; null when the name is not a single-byte encoding .NET knows (the hub cannot read such files).
    /// </summary>
    public Encoding? TextEncoding()
    {
        if (string.IsNullOrWhiteSpace(Encoding))
        {
            return System.Text.Encoding.UTF8;
        }

        System.Text.Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        try
        {
            var encoding = System.Text.Encoding.GetEncoding(Encoding.Trim());
            return encoding.CodePage == System.Text.Encoding.UTF8.CodePage || encoding.IsSingleByte ? encoding : null;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>The baseline schema as this partner's files carry it: headers renamed, extra columns appended.</summary>
    public FileSchema Apply(FileSchema baseline)
    {
        var renames = Renames.GetValueOrDefault(baseline.Kind) ?? new Dictionary<string, string>();
        var extras = ExtraColumns.GetValueOrDefault(baseline.Kind) ?? [];
        if (renames.Count == 0 && extras.Count == 0)
        {
            return baseline;
        }

        string Name(string column) => renames.TryGetValue(column, out var renamed) ? renamed : column;
        ColumnCondition? Condition(ColumnCondition? c) => c is null ? null : c with { Column = Name(c.Column) };
        var columns = baseline.Columns
            .Select(c => c with
            {
                Name = Name(c.Name),
                RequiredWhen = Condition(c.RequiredWhen),
                RequiredUnless = c.RequiredUnless is null ? null : Name(c.RequiredUnless),
            })
            .Concat(extras.Select(e => new ColumnDefinition { Name = e, Field = "X_" + new string(e.Where(char.IsAsciiLetterOrDigit).ToArray()), Extra = true }))
            .ToArray();
        return baseline with
        {
            Version = baseline.Version + "+" + Id,
            Columns = columns,
            Key = baseline.Key.Select(Name).ToArray(),
            Detect = baseline.Detect.Select(Name).ToArray(),
            Rules = baseline.Rules.Select(r => r with
            {
                Start = r.Start is null ? null : Name(r.Start),
                End = r.End is null ? null : Name(r.End),
                Code = r.Code is null ? null : Name(r.Code),
                Modifiers = r.Modifiers.Select(Name).ToArray(),
            }).ToArray(),
            Events = baseline.Events.Select(e => e with { When = Condition(e.When), Data = e.Data.Select(Name).ToArray() }).ToArray(),
        };
    }
}
