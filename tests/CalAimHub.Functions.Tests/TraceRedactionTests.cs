using System.Diagnostics;
using CalAimHub.Functions.Extensions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;

namespace CalAimHub.Functions.Tests;

public sealed class TraceRedactionTests
{
    [Fact]
    public void A_trace_keeps_the_route_template_and_drops_the_path_and_query_that_hold_a_cin()
    {
        using var activity = new Activity("request");
        activity.SetTag("url.path", "/api/members/91234567A/authorizations");
        activity.SetTag("url.query", "?cin=91234567A");
        var context = new DefaultHttpContext();
        context.SetEndpoint(new RouteEndpoint(_ => Task.CompletedTask, RoutePatternFactory.Parse("/api/members/{cin}/authorizations"), 0, null, "members"));

        TraceRedaction.Redact(activity, TraceRedaction.RouteOf(context));

        Assert.Equal("/api/members/{cin}/authorizations", activity.GetTagItem("url.path"));
        Assert.Null(activity.GetTagItem("url.query"));
        Assert.DoesNotContain(activity.TagObjects, t => t.Value?.ToString()?.Contains("91234567A", StringComparison.Ordinal) == true);
    }

    [Fact]
    public void A_request_that_matched_no_route_is_traced_as_unmatched()
    {
        using var activity = new Activity("request");
        activity.SetTag("url.path", "/api/91234567A");

        TraceRedaction.Redact(activity, TraceRedaction.RouteOf(new DefaultHttpContext()));

        Assert.Equal("(unmatched)", activity.GetTagItem("url.path"));
    }
}
