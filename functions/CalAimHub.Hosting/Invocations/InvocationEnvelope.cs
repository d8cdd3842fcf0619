using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CalAimHub.Hosting.Invocations;

/// <summary>
/// Builds invocation bodies in the shape the Functions host sends (as captured from Azure: strings JSON-encoded a
/// second time, numbers as strings, a <c>sys</c> block). The local host uses it, so tests exercise the same parsing
/// the handler needs in Azure.
/// </summary>
public static class InvocationEnvelope
{
    public static byte[] ForQueueMessage(string bindingName, QueueMessageFacts message, DateTimeOffset utcNow) =>
        Serialize(
            new JsonObject { [bindingName] = Twice(message.Text) },
            new JsonObject
            {
                ["DequeueCount"] = message.DequeueCount.ToString(CultureInfo.InvariantCulture),
                ["ExpirationTime"] = message.ExpiresOn?.ToString("O", CultureInfo.InvariantCulture),
                ["Id"] = Twice(message.MessageId),
                ["InsertionTime"] = message.InsertedOn?.ToString("O", CultureInfo.InvariantCulture),
                ["NextVisibleTime"] = message.NextVisibleOn?.ToString("O", CultureInfo.InvariantCulture),
                ["PopReceipt"] = Twice(message.PopReceipt),
                ["sys"] = Sys("queue", utcNow),
            });

    public static byte[] ForTimer(string bindingName, bool isPastDue, DateTimeOffset? last, DateTimeOffset next, DateTimeOffset utcNow) =>
        Serialize(
            new JsonObject
            {
                [bindingName] = new JsonObject
                {
                    ["Schedule"] = new JsonObject { ["AdjustForDST"] = true },
                    ["ScheduleStatus"] = new JsonObject
                    {
                        ["Last"] = last?.ToString("O", CultureInfo.InvariantCulture),
                        ["Next"] = next.ToString("O", CultureInfo.InvariantCulture),
                        ["LastUpdated"] = utcNow.ToString("O", CultureInfo.InvariantCulture),
                    },
                    ["IsPastDue"] = isPastDue,
                },
            },
            new JsonObject { ["sys"] = Sys("timer", utcNow) });

    private static JsonObject Sys(string methodName, DateTimeOffset utcNow) => new()
    {
        ["MethodName"] = methodName,
        ["UtcNow"] = utcNow.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
        ["RandGuid"] = Guid.NewGuid().ToString(),
    };

    private static string Twice(string value) => JsonSerializer.Serialize(value);

    private static byte[] Serialize(JsonObject data, JsonObject metadata) =>
        JsonSerializer.SerializeToUtf8Bytes(new JsonObject { ["Data"] = data, ["Metadata"] = metadata });
}

/// <summary>What the host knows about a dequeued message.</summary>
public sealed record QueueMessageFacts(
    string Text,
    string MessageId,
    string PopReceipt,
    long DequeueCount,
    DateTimeOffset? InsertedOn,
    DateTimeOffset? ExpiresOn,
    DateTimeOffset? NextVisibleOn);
