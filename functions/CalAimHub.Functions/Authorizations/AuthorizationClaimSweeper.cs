using System.Globalization;
using System.Text.Json;
using Azure;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Functions.Invocations;
using CalAimHub.Hosting.Invocations;
using CalAimHub.Workflows;

namespace CalAimHub.Functions.Authorizations;

/// <summary>
/// Timer <c>AuthorizationClaimSweeper</c> (every minute): starts the workflow of a member-index claim whose request died
/// between claiming and starting (chaos trial, stop 18), from the request the claim stored, once its unstarted-claim
/// marker is older than <see cref="AuthorizationOptions.ClaimSweepGrace"/>. Same instance id as the claimant's own start,
/// so a claimant still alive and this make one workflow. Reads only the markers past their grace (one key-range query,
/// see <see cref="MemberAuthorizationIndex"/>), then per marker the claim row and the instance: never a table scan.
/// A marker whose claim names another authorization (its claim lost, or it gave up) is just deleted.
/// </summary>
public sealed partial class AuthorizationClaimSweeper(
    MemberAuthorizationIndex index, WorkflowRuntime runtime, AuthorizationOptions options, TimeProvider wallClock, ILogger<AuthorizationClaimSweeper> logger) : ITimerFunction
{
    public async Task<string> RunAsync(InvocationMetadata metadata, CancellationToken cancellationToken)
    {
        var found = await index.UnstartedBeforeAsync(wallClock.GetUtcNow() - options.ClaimSweepGrace, options.ClaimSweepBatchSize, cancellationToken);
        if (found.Count == 0)
        {
            return "No unstarted authorization claims.";
        }

        int started = 0, forgotten = 0, failed = 0;
        foreach (var claim in found)
        {
            try
            {
                var row = await index.RowAsync(claim.MemberCin, claim.ServiceKey, cancellationToken);
                if (row is { Request.Length: > 0 } && row.AuthorizationId == claim.AuthorizationId && await runtime.GetAsync(claim.AuthorizationId, cancellationToken) is null)
                {
                    // A clone: the runtime keeps the started instance (its input included) in memory past this call.
                    using var request = JsonDocument.Parse(row.Request);
                    await runtime.StartAsync(AuthorizationWorkflow.TypeName, claim.AuthorizationId, request.RootElement.Clone(), cancellationToken);
                    started++;
                    LogStarted(logger, claim.AuthorizationId);
                }
                else
                {
                    forgotten++;
                }

                await index.ForgetUnstartedAsync(claim.MarkerKey, cancellationToken);
            }
            catch (Exception e) when (e is RequestFailedException or WorkflowStartsSaturatedException)
            {
                // The marker stays: the next run tries again.
                failed++;
                LogFailed(logger, claim.AuthorizationId, e is RequestFailedException storage ? $"storage answered {storage.Status} {storage.ErrorCode}" : "workflow starts are saturated");
            }
        }

        var more = found.Count == options.ClaimSweepBatchSize ? "; more may be waiting for the next run" : "";
        var retry = failed > 0 ? $"; {failed} left for the next run" : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"Started {started} of {found.Count} unstarted authorization claim(s) older than {options.ClaimSweepGrace.TotalSeconds:0.#} s; {forgotten} needed no start{retry}{more}.");
    }

    // The authorization id only: never the CIN the claim holds.
    [LoggerMessage(Level = LogLevel.Warning, Message = "Authorization {AuthorizationId} was claimed but never started (its request stopped in between); started it from the claim")]
    private static partial void LogStarted(ILogger logger, string authorizationId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Authorization {AuthorizationId}: unstarted claim not handled ({Reason}); the next sweep retries")]
    private static partial void LogFailed(ILogger logger, string authorizationId, string reason);
}
