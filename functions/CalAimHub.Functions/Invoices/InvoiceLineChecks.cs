using System.Security.Cryptography;
using System.Text;
using Azure.Data.Tables;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Calendar;
using CalAimHub.Domain.Invoices;
using CalAimHub.Functions.Authorizations;
using CalAimHub.Functions.Referrals;
using CalAimHub.Hosting.Storage;
using CalAimHub.Ingestion.Formats;
using CalAimHub.Workflows;

namespace CalAimHub.Functions.Invoices;

/// <summary>One billed line as ingestion stored it: the CIN (PHI: checked, hashed, never stored in the invoice or logged) and what was billed.</summary>
public sealed record BilledLine(int Number, string MemberCin, DateOnly ServiceFrom, DateOnly? ServiceTo, string Hcpcs, IReadOnlyList<string> Modifiers, decimal Units, decimal Charge);

/// <summary>
/// The automatic checks of an invoice line, all by key (no scans): the authorization for member + service through
/// <c>MemberAuthorizations</c> (one point read per member and service) and the authorization's workflow state (one
/// point read per authorization); for a code whose units an authorization limits, the units already paid on it (one counter
/// point read); a paid line with the same member, service and date of service through
/// <c>PaidInvoiceLines</c> (one point read); the billing provider in the directory (one point read per invoice).
/// A failing line gets one reason per missing thing, naming it.
/// </summary>
public sealed class InvoiceLineChecks(StorageAccount storage, WorkflowRuntime runtime, ReferralDirectory directory, InvoiceReadModels readModels)
{
    private static readonly ServiceCodeTable ServiceCodes = FormatCatalog.Default.ServiceCodes;

    /// <summary>Look-ups made (member index + authorization state), for the benchmark's look-ups per line.</summary>
    public long AuthorizationLookups => Interlocked.Read(ref lookups);

    private long lookups;

    /// <summary>Whether the directory lists the billing provider (an atypical id without an NPI cannot be listed).</summary>
    public async Task<bool> ProviderListedAsync(string providerId, CancellationToken cancellationToken) =>
        NationalProviderIdentifier.IsValid(providerId) && await directory.FindAsync(providerId, cancellationToken) is not null;

    /// <param name="authorizations">Per call site cache: member + service key → the authorization found (one invoice file, many lines of one member).</param>
    public async Task<ReceivedLine> CheckAsync(
        string providerId, bool providerListed, BilledLine line, Dictionary<string, AuthorizationState?> authorizations, CancellationToken cancellationToken)
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
            var authorization = await AuthorizationAsync(line.MemberCin, serviceKey, authorizations, cancellationToken);
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
        if (await readModels.PaidLineAsync(providerId, duplicateKey, cancellationToken) is { } paid)
        {
            problems.Add(new(ContestReasons.DuplicateOfPaidLine, $"a service not already paid: the same member, {service} and date of service were paid on invoice {paid.InvoiceId} line {paid.Line}"));
        }

        if (!providerListed)
        {
            problems.Add(new(ContestReasons.ProviderNotInDirectory, $"billing provider {providerId} in the plan's provider directory"));
        }

        return new ReceivedLine(line.Number, line.ServiceFrom, line.ServiceTo, line.Hcpcs, line.Modifiers, line.Units, line.Charge, authorizationId, problems, duplicateKey);
    }

    private async Task<AuthorizationState?> AuthorizationAsync(string cin, string serviceKey, Dictionary<string, AuthorizationState?> cache, CancellationToken cancellationToken)
    {
        var key = cin + "\u001f" + serviceKey;
        if (cache.TryGetValue(key, out var cached))
        {
            return cached;
        }

        Interlocked.Increment(ref lookups);
        var row = await storage.Tables.GetTableClient(MemberAuthorizationIndex.TableName)
            .GetEntityIfExistsAsync<TableEntity>(cin, serviceKey, select: ["AuthorizationId"], cancellationToken: cancellationToken);
        AuthorizationState? state = null;
        if (row.HasValue && row.Value!.GetString("AuthorizationId") is { Length: > 0 } id)
        {
            Interlocked.Increment(ref lookups);
            state = await runtime.GetStateAsync<AuthorizationState>(id, cancellationToken);
        }

        cache[key] = state;
        return state;
    }

    /// <summary>Hash of member, service and dates of service: equal for the same service billed twice, unreadable as member data.</summary>
    public static string DuplicateKey(BilledLine line)
    {
        var text = string.Join('\u001f', line.MemberCin.ToUpperInvariant(), line.Hcpcs.ToUpperInvariant(), string.Join('+', line.Modifiers.Select(m => m.ToUpperInvariant()).Order(StringComparer.Ordinal)),
            line.ServiceFrom.ToString("O"), (line.ServiceTo ?? line.ServiceFrom).ToString("O"));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("calaimhub.invoice-line\u001f" + text)).AsSpan(0, 16));
    }

    private static string Kebab(AuthorizationStatus status) => System.Text.Json.JsonNamingPolicy.KebabCaseLower.ConvertName(status.ToString());
}
