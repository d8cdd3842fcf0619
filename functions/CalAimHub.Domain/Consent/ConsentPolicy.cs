namespace CalAimHub.Domain.Consent;

/// <summary>
/// Decides, for one member and one recipient on one day, which categories of information may be sent. Pure.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>The consent that decides is the newest (by effective date, then recording time) that is effective on
/// <c>asOf</c> and names the recipient (or <c>any</c>). A newer one supersedes an older one whole, it is not merged.</item>
/// <item>No such consent, or the deciding one has expired: the hub baseline. HIPAA treatment, payment and operations
/// sharing among Care Partners needs no consent (DSAG, calaim-standards.md §8), so every category is shared except
/// 42 CFR Part 2 information, which needs a Part 2 consent (calaim-standards.md §8, calaim-2026-update.md §7).</item>
/// <item>A grant: each consent-controlled category named is shared or withheld as the member chose; one not named
/// follows the baseline. Part 2 categories are shared only when its Part 2 list names the recipient or <c>any</c>.</item>
/// <item>A revocation: every consent-controlled category withheld, Part 2 withheld, from its effective date: the next
/// file decided on or after that day.</item>
/// <item>Categories that are not consent-controlled (identity, authorization: the assignment itself) are always shared.</item>
/// </list>
/// </remarks>
public static class ConsentPolicy
{
    public static ConsentDecision Decide(string cin, IEnumerable<MemberConsent> consents, string recipientId,
        IEnumerable<string> categories, DateOnly asOf) =>
        Decide(DisclosureCategories.Current, cin, consents, recipientId, categories, asOf);

    public static ConsentDecision Decide(DisclosureCategories catalog, string cin, IEnumerable<MemberConsent> consents,
        string recipientId, IEnumerable<string> categories, DateOnly asOf)
    {
        var deciding = consents
            .Where(consent => consent.Cin == cin && consent.EffectiveOn <= asOf && consent.AppliesTo(recipientId))
            .OrderByDescending(consent => consent.EffectiveOn)
            .ThenByDescending(consent => consent.RecordedAt)
            .ThenByDescending(consent => consent.ConsentId, StringComparer.Ordinal)
            .FirstOrDefault();
        var inForce = deciding is not null && deciding.InForceOn(asOf) ? deciding : null;

        var shared = new HashSet<string>(StringComparer.Ordinal);
        var withheld = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in categories)
        {
            (IsShared(catalog[id], inForce, recipientId) ? shared : withheld).Add(id);
        }

        return new ConsentDecision(cin, recipientId, shared, withheld, inForce?.ConsentId);
    }

    private static bool IsShared(DisclosureCategory category, MemberConsent? consent, string recipientId)
    {
        if (!category.ConsentControlled)
        {
            return true;
        }

        if (consent is null)
        {
            return category.SharedWithoutConsent;
        }

        if (consent.Kind == ConsentKind.Revocation)
        {
            return false;
        }

        if (consent.Choices.TryGetValue(category.Id, out var choice) && choice == ConsentChoice.DoNotShare)
        {
            return false;
        }

        if (category.Part2)
        {
            return consent.Part2Recipients.Any(recipient => recipient == DisclosureCategories.AnyRecipient || recipient == recipientId);
        }

        return consent.Choices.TryGetValue(category.Id, out choice) ? choice == ConsentChoice.Share : category.SharedWithoutConsent;
    }
}
