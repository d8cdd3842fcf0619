namespace CalAimHub.Domain.Invoices;

/// <summary>Names and payloads of the external events an invoice instance accepts (besides started and timer-fired).</summary>
public static class InvoiceEvents
{
    /// <summary>Lines of the invoice arrived in a file, each with the result of its automatic checks: <see cref="LinesReceived"/>.</summary>
    public const string LinesReceived = "lines-received";

    /// <summary>The plan's claims system reports outcomes (paid, denied, contested): <see cref="Remittance"/>.</summary>
    public const string Remittance = "remittance";
}

/// <summary>
/// Start input of an <c>invoice</c> instance: who billed which invoice, when the file arrived. No member data.
/// </summary>
/// <param name="InvoiceId">The instance id (derived from provider and invoice number, see <see cref="InvoiceIds"/>).</param>
/// <param name="ProviderId">The billing provider's NPI (or atypical id when it has none).</param>
/// <param name="PartnerId">The file partner that sent it.</param>
/// <param name="Subscriber">The partner's notice subscriber; null = the policy's provider subscriber.</param>
/// <param name="ReceivedAt">When the file arrived: the payment clock starts on its Pacific date.</param>
/// <param name="Lines">The invoice's first lines (up to <see cref="InvoiceStart.MaxLines"/>), checked, received in the start's
/// own commit: a staged invoice costs one commit, not one per line. Not kept in the header.</param>
public sealed record InvoiceStart(
    string InvoiceId, string InvoiceNumber, string ProviderId, string PartnerId, string? Subscriber, DateTimeOffset ReceivedAt, IReadOnlyList<ReceivedLine>? Lines = null)
{
    /// <summary>Lines carried by one start or one <c>lines-received</c> event: keeps a history entry well under a table property's 64 KiB.</summary>
    public const int MaxLines = 100;
}

/// <param name="ReceivedAt">When the file holding these lines arrived (a corrected line's clock starts here).</param>
public sealed record LinesReceived(DateTimeOffset ReceivedAt, IReadOnlyList<ReceivedLine> Lines);

/// <summary>One invoice line as billed, with what the automatic checks found missing (empty = clean). No member data.</summary>
/// <param name="AuthorizationId">The authorization that covers the line, when one does.</param>
/// <param name="Problems">Why the line is contested: one reason per missing thing.</param>
/// <param name="DuplicateKey">Opaque hash of member, service and date of service (no readable member data): finds a paid line billed again.</param>
public sealed record ReceivedLine(
    int Number,
    DateOnly ServiceFrom,
    DateOnly? ServiceTo,
    string Hcpcs,
    IReadOnlyList<string> Modifiers,
    decimal Units,
    decimal Charge,
    string? AuthorizationId,
    IReadOnlyList<ContestReason> Problems,
    string? DuplicateKey = null)
{
    /// <summary>What was billed, for telling a correction from a repeat (checks included: a check that now passes is a correction).</summary>
    public string Fingerprint => string.Join('|', ServiceFrom.ToString("O"), ServiceTo?.ToString("O"), Hcpcs, string.Join('+', Modifiers), Units, Charge, AuthorizationId,
        string.Join(',', Problems.Select(p => p.Code)));
}

/// <summary>A reason code and, in words, the information that is missing.</summary>
public sealed record ContestReason(string Code, string Missing);

/// <summary>The reason codes the automatic line checks give.</summary>
public static class ContestReasons
{
    public const string NoAuthorization = "authorization-not-on-file";
    public const string AuthorizationNotApproved = "authorization-not-approved";
    public const string OutsideAuthorizedPeriod = "date-of-service-outside-authorized-period";
    public const string ServiceNotAuthorized = "service-not-authorized";
    public const string UnitsExceedAuthorization = "units-exceed-authorization";
    public const string DuplicateOfPaidLine = "duplicate-of-paid-line";
    public const string ProviderNotInDirectory = "provider-not-in-directory";
}

/// <summary>The plan's claims system reports outcomes for lines of one invoice.</summary>
/// <param name="RemittanceId">The plan's id of this remittance: paid notices and event ids derive from it.</param>
public sealed record Remittance(string RemittanceId, IReadOnlyList<LineOutcome> Lines);

/// <param name="Outcome">Paid, denied or contested.</param>
/// <param name="On">The date of the payment, denial or contest (Pacific).</param>
/// <param name="Amount">Paid amount (required to pay; at most the billed charge).</param>
/// <param name="Reason">Reason code (required to deny or contest).</param>
/// <param name="Missing">For a contest: the information the provider must supply.</param>
public sealed record LineOutcome(int Line, LineOutcomeKind Outcome, DateOnly On, decimal? Amount = null, string? Reason = null, string? Missing = null);

[System.Text.Json.Serialization.JsonConverter(typeof(Authorizations.KebabCaseEnumConverter<LineOutcomeKind>))]
public enum LineOutcomeKind
{
    Paid,
    Denied,
    Contested,
}

/// <summary>Why a remittance cannot be applied. <paramref name="Field"/> names the input (JSON path); <see cref="IsConflict"/> = it contradicts the invoice's state (409).</summary>
public sealed record InvoiceCommandProblem(string Field, string Detail, bool IsConflict = false);

/// <summary>Invoice instance ids: opaque, deterministic per billing provider and invoice number, no member data.</summary>
public static class InvoiceIds
{
    public static string For(string providerId, string invoiceNumber)
    {
        return "inv-" + StableHash.Hex(providerId.Trim().ToUpperInvariant() + "\u001f" + invoiceNumber.Trim().ToUpperInvariant(), 12);
    }
}
