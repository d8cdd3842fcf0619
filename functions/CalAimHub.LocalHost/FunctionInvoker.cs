using System.Diagnostics;
using System.Net.Http.Headers;

namespace CalAimHub.LocalHost;

/// <summary>
/// POSTs an invocation envelope to <c>/{FunctionName}</c> on the handler, with the host's headers. <paramref name="handler"/>
/// answers where to send it: one instance's address once it is up, or the next ready instance (timers).
/// </summary>
internal sealed class FunctionInvoker(Func<CancellationToken, ValueTask<Uri>> handler, TimeSpan timeout) : IDisposable
{
    public const string HostVersion = "4.1044.0.0-local";

    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false, ActivityHeadersPropagator = null })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public FunctionInvoker(Uri handler, TimeSpan timeout)
        : this(_ => ValueTask.FromResult(handler), timeout)
    {
    }

    /// <summary>Waits (cancellably) until the handler is up: while it restarts, nothing is received for it.</summary>
    public ValueTask<Uri> ReadyAsync(CancellationToken cancellationToken) => handler(cancellationToken);

    public async Task<InvocationResult> InvokeAsync(string functionName, byte[] envelope, CancellationToken cancellationToken)
    {
        var invocationId = Guid.NewGuid().ToString();
        var address = await handler(cancellationToken);
        var stopwatch = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(address, functionName)) { Content = new ByteArrayContent(envelope) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation(FrontDoor.InvocationIdHeader, invocationId);
        request.Headers.TryAddWithoutValidation("X-Azure-Functions-HostVersion", HostVersion);
        request.Headers.TryAddWithoutValidation("User-Agent", "Azure-Functions-Host/" + HostVersion);
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeoutSource.Token);
            var code = (int)response.StatusCode;
            return new InvocationResult(invocationId, response.IsSuccessStatusCode, code.ToString(System.Globalization.CultureInfo.InvariantCulture), stopwatch.Elapsed);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new InvocationResult(invocationId, false, $"timeout after {timeout}", stopwatch.Elapsed);
        }
        catch (HttpRequestException e)
        {
            return new InvocationResult(invocationId, false, $"connection error ({e.HttpRequestError})", stopwatch.Elapsed);
        }
    }

    public void Dispose() => _client.Dispose();
}

internal sealed record InvocationResult(string InvocationId, bool Succeeded, string Status, TimeSpan Duration);
