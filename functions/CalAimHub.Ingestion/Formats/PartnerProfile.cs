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

    public bool Sends(string kind) => Kinds.Count == 0 || Kinds.Contains(kind, StringComparer.OrdinalIgnoreCase);

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
