using System.Globalization;

namespace CalAimHub.Hosting.Invocations;

/// <summary>
/// A queue message handed back as a fresh copy (the handler's <c>MapQueueFunction</c>, when workflow starts are saturated)
/// carries when its first copy was queued, in one header line before the body. Workflow admission orders its line by that
/// time (<c>WorkflowAdmission.ForQueuedWork</c>), so a start handed back keeps its place instead of rejoining behind every
/// start that came after it. The functions only ever see the body, and so do poison queues' readers
/// (<see cref="DeadLetter.OriginalMessage"/>): a replay is a new arrival.
/// </summary>
public static class HandedBackMessage
{
    private const string Header = "handed-back first-queued=";

    public static string Wrap(string body, DateTimeOffset firstQueued) =>
        Header + firstQueued.UtcDateTime.ToString("O", CultureInfo.InvariantCulture) + "\n" + body;

    /// <summary>The body, and when its first copy was queued if the text is a handed-back copy.</summary>
    public static (string Body, DateTimeOffset? FirstQueued) Read(string text)
    {
        if (!text.StartsWith(Header, StringComparison.Ordinal) || text.IndexOf('\n', StringComparison.Ordinal) is var end && end < 0)
        {
            return (text, null);
        }

        // A header that does not parse is not ours: the text is an ordinary body that happens to start the same way.
        return DateTimeOffset.TryParseExact(text.AsSpan(Header.Length, end - Header.Length), "O", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out var first)
            ? (text[(end + 1)..], first)
            : (text, null);
    }
}
