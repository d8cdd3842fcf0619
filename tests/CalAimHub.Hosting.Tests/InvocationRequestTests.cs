using System.Text;
using CalAimHub.Hosting.Invocations;

namespace CalAimHub.Hosting.Tests;

/// <summary>Envelope parsing against the documented and captured payload shapes (reference: custom handlers §1.6–1.8).</summary>
public sealed class InvocationRequestTests
{
    private static InvocationRequest Payload(string name) =>
        InvocationRequest.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Payloads", name)));

    [Fact]
    public void Documented_queue_payload_gives_message_text_and_numeric_dequeue_count()
    {
        var request = Payload("queue-documented.json");

        Assert.Equal("{ message: \"Message sent\" }", request.GetText("myQueueItem"));
        Assert.Equal(1, request.Metadata.DequeueCount);
        Assert.Equal("800ae4b3-bdd2-4c08-badd-f08e5a34b865", request.Metadata.MessageId);
        Assert.Equal(new DateTimeOffset(2019, 10, 9, 17, 58, 31, TimeSpan.Zero), request.Metadata.InsertionTime);
        Assert.Equal("QueueTrigger", request.Metadata.MethodName);
    }

    [Fact]
    public void Captured_queue_payload_with_double_encoded_strings_and_string_numbers_is_decoded_once()
    {
        var request = Payload("queue-captured.json");

        Assert.Equal("aaaaa", request.GetText("inMsg"));
        Assert.Equal(1, request.Metadata.DequeueCount);
        Assert.Equal("a0004923-f050-417a-9742-6d7c7b984134", request.Metadata.MessageId);
        Assert.Equal("AgAAAAMAAAAAAAAA8d5gQex+2AE=", request.Metadata.GetText("PopReceipt"));
        Assert.Equal("queue", request.Metadata.MethodName);
    }

    [Fact]
    public void Captured_timer_payload_gives_the_timer_object_as_json()
    {
        var request = Payload("timer-captured.json");

        Assert.Contains("\"IsPastDue\": false", request.GetText("inMsg"), StringComparison.Ordinal);
        Assert.Null(request.Metadata.DequeueCount);
        Assert.Equal("timer", request.Metadata.MethodName);
    }

    [Fact]
    public void Documented_http_payload_keeps_the_request_object_and_empty_metadata()
    {
        var request = Payload("http-documented.json");

        Assert.Contains("\"Method\": \"POST\"", request.GetText("req"), StringComparison.Ordinal);
        Assert.Null(request.Metadata.MethodName);
    }

    [Fact]
    public void Keys_are_matched_case_insensitively_as_the_host_is_not_consistent()
    {
        var request = InvocationRequest.Parse("""{"data":{"Msg":"x"},"metadata":{"dequeueCount":"3"}}"""u8);

        Assert.Equal("x", request.GetText("msg"));
        Assert.Equal(3, request.Metadata.DequeueCount);
    }

    [Fact]
    public void A_json_message_sent_as_a_double_encoded_string_keeps_its_json_text()
    {
        var message = """{"deliveryId":"d-1","data":{"a":"\"quoted\""}}""";
        var body = InvocationEnvelope.ForQueueMessage("notification", Facts(message, 2), DateTimeOffset.UnixEpoch);

        var request = InvocationRequest.Parse(body);

        Assert.Equal(message, request.GetText("notification"));
        Assert.Equal(2, request.Metadata.DequeueCount);
        Assert.Equal("m-1", request.Metadata.MessageId);
    }

    [Fact]
    public void Envelope_built_for_a_queue_message_has_the_captured_shape()
    {
        var body = Encoding.UTF8.GetString(InvocationEnvelope.ForQueueMessage("inMsg", Facts("aaaaa", 1), DateTimeOffset.UnixEpoch));

        Assert.Contains("\"inMsg\":\"\\u0022aaaaa\\u0022\"", body, StringComparison.Ordinal);
        Assert.Contains("\"DequeueCount\":\"1\"", body, StringComparison.Ordinal);
        Assert.Contains("\"MethodName\":\"queue\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public void Timer_envelope_round_trips_past_due_and_method()
    {
        var body = InvocationEnvelope.ForTimer("timer", isPastDue: true, last: null, next: DateTimeOffset.UnixEpoch, utcNow: DateTimeOffset.UnixEpoch);

        var request = InvocationRequest.Parse(body);

        Assert.Contains("\"IsPastDue\":true", request.GetText("timer"), StringComparison.Ordinal);
        Assert.Equal("timer", request.Metadata.MethodName);
    }

    [Theory]
    [InlineData("{not json", "Invocation body is not valid JSON: ")]
    [InlineData("[1,2]", "Invocation body must be a JSON object with 'Data' and 'Metadata', not Array.")]
    [InlineData("""{"Metadata":{}}""", "Invocation body has no 'Data' object; the host always sends the trigger value in Data.")]
    [InlineData("""{"Data":"text"}""", "Invocation body has no 'Data' object; the host always sends the trigger value in Data.")]
    public void Malformed_envelopes_fail_with_a_clear_message(string body, string expected)
    {
        var error = Assert.Throws<InvocationFormatException>(() => InvocationRequest.Parse(Encoding.UTF8.GetBytes(body)));

        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_binding_names_the_keys_that_are_there()
    {
        var request = InvocationRequest.Parse("""{"Data":{"other":"x"}}"""u8);

        var error = Assert.Throws<InvocationFormatException>(() => request.GetText("notification"));

        Assert.Equal("Invocation Data has no 'notification' entry (keys: other).", error.Message);
    }

    [Fact]
    public void Completed_response_serializes_to_the_host_contract()
    {
        var json = System.Text.Json.JsonSerializer.Serialize(InvocationResponse.Completed("done"));

        Assert.Equal("""{"Outputs":{},"Logs":["done"],"ReturnValue":null}""", json);
    }

    private static QueueMessageFacts Facts(string text, long dequeueCount) =>
        new(text, "m-1", "pop", dequeueCount, DateTimeOffset.UnixEpoch, null, null);
}
