using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;

namespace CalAimHub.Benchmarks;

/// <summary>
/// Counts the storage requests a benchmark makes, by kind: table point read, table query (a GET with <c>$filter</c>),
/// entity-group transaction (<c>$batch</c>), single-entity write, delete, queue send; keyed by table or queue name. One
/// request = one round trip, which on Azurite (and largely on real storage) is what an operation costs.
/// </summary>
public sealed partial class StorageOperationCounter : HttpPipelinePolicy
{
    private readonly ConcurrentDictionary<string, long> counts = new(StringComparer.Ordinal);

    private readonly ConcurrentDictionary<string, long> ticks = new(StringComparer.Ordinal);

    /// <summary>A policy for a blob client that counts into this counter: "blob {operation}" (the <c>comp</c> of the request, or upload / download / properties).</summary>
    public HttpPipelinePolicy Blobs() => new BlobCounter(this);

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        var key = Count(message.Request);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        ProcessNext(message, pipeline);
        ticks.AddOrUpdate(key, System.Diagnostics.Stopwatch.GetTimestamp() - started, (_, t) => t + System.Diagnostics.Stopwatch.GetTimestamp() - started);
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        var key = Count(message.Request);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await ProcessNextAsync(message, pipeline);
        var elapsed = System.Diagnostics.Stopwatch.GetTimestamp() - started;
        ticks.AddOrUpdate(key, elapsed, (_, t) => t + elapsed);
    }

    /// <summary>Total time spent waiting for responses so far, by "kind resource", in milliseconds.</summary>
    public IReadOnlyDictionary<string, double> WaitedMilliseconds() =>
        ticks.ToDictionary(t => t.Key, t => t.Value * 1000.0 / System.Diagnostics.Stopwatch.Frequency, StringComparer.Ordinal);

    /// <summary>The counts so far, by "kind resource".</summary>
    public IReadOnlyDictionary<string, long> Snapshot() => new Dictionary<string, long>(counts, StringComparer.Ordinal);

    /// <summary>What happened between two snapshots.</summary>
    public static IReadOnlyDictionary<string, long> Between(IReadOnlyDictionary<string, long> before, IReadOnlyDictionary<string, long> after) =>
        after.Select(a => (a.Key, Value: a.Value - before.GetValueOrDefault(a.Key))).Where(a => a.Value > 0).ToDictionary(a => a.Key, a => a.Value, StringComparer.Ordinal);

    private void Add(string key, long elapsed)
    {
        counts.AddOrUpdate(key, 1, (_, n) => n + 1);
        ticks.AddOrUpdate(key, elapsed, (_, t) => t + elapsed);
    }

    private sealed class BlobCounter(StorageOperationCounter counter) : HttpPipelinePolicy
    {
        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            ProcessNext(message, pipeline);
            counter.Add(Key(message.Request), System.Diagnostics.Stopwatch.GetTimestamp() - started);
        }

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            await ProcessNextAsync(message, pipeline);
            counter.Add(Key(message.Request), System.Diagnostics.Stopwatch.GetTimestamp() - started);
        }

        private static string Key(Request request)
        {
            var query = request.Uri.Query;
            var comp = System.Web.HttpUtility.ParseQueryString(query)["comp"];
            return "blob " + (comp ?? request.Method.Method switch
            {
                "PUT" => "upload",
                "GET" => "download",
                "HEAD" => "properties",
                var m => m.ToLowerInvariant(),
            });
        }
    }

    private string Count(Request request)
    {
        var path = request.Uri.Path.TrimEnd('/');
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var last = segments.Length == 0 ? "" : segments[^1];
        var method = request.Method.Method;
        string key;
        if (last == "$batch")
        {
            // The table is named inside the multipart body only.
            using var body = new MemoryStream();
            request.Content?.WriteTo(body, CancellationToken.None);
            var rows = SubRequest().Matches(System.Text.Encoding.UTF8.GetString(body.GetBuffer(), 0, (int)body.Length));
            key = "transaction " + (rows.Count == 0 ? "?" : rows[0].Groups[1].Value);
            counts.AddOrUpdate("rows in transactions " + (rows.Count == 0 ? "?" : rows[0].Groups[1].Value), rows.Count, (_, n) => n + rows.Count);
        }
        else if (path.Contains("/messages", StringComparison.Ordinal))
        {
            var queue = segments.Length >= 2 ? segments[^2] : "?";
            key = (method == "POST" ? "queue send " : method == "DELETE" ? "queue delete " : "queue " + method.ToLowerInvariant() + " ") + queue;
        }
        else
        {
            var paren = last.IndexOf('(', StringComparison.Ordinal);
            var table = paren < 0 ? last : last[..paren];
            var hasKeys = paren >= 0 && last.Length > paren + 2;
            key = method switch
            {
                "GET" when hasKeys => "point read " + table,
                "GET" => "query " + table,
                "PUT" or "MERGE" or "PATCH" => "write " + table,
                "POST" => "insert " + table,
                "DELETE" => "delete " + table,
                _ => method + " " + table,
            };
        }

        counts.AddOrUpdate(key, 1, (_, n) => n + 1);
        return key;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(?:PUT|POST|PATCH|MERGE|DELETE) \S+?/([A-Za-z][A-Za-z0-9]{2,62})(?:\(|\?| HTTP)")]
    private static partial System.Text.RegularExpressions.Regex SubRequest();
}
