using System.Text.Json;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Referrals;
using CalAimHub.Domain.Workflows;
using CalAimHub.Functions.Authorizations;
using CalAimHub.Functions.Notifications;
using CalAimHub.Functions.Referrals;
using CalAimHub.Hosting.Webhooks;
using CalAimHub.Workflows;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CalAimHub.Functions.Tests;

/// <summary>
/// The repository's <c>local.settings.example.json</c> names every subscriber and platform the code sends to, and a
/// subscriber nobody configured is one warning at start-up naming the setting, not a failure per notice.
/// </summary>
public sealed class NoticeSubscribersTests
{
    private static IConfiguration Configuration(IEnumerable<KeyValuePair<string, string>> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key.Replace("__", ":", StringComparison.Ordinal), v.Value))).Build();

    private static (AuthorizationPolicy, ReferralPolicy) Policies(IConfiguration configuration) => (
        (configuration.GetSection("Authorizations").Get<AuthorizationOptions>() ?? new AuthorizationOptions()).ToPolicy(),
        (configuration.GetSection("Referrals").Get<ReferralOptions>() ?? new ReferralOptions()).ToPolicy());

    private static IReadOnlyList<KeyValuePair<string, string>> ExampleValues()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "CalAimHub.sln")))
        {
            directory = directory.Parent;
        }

        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory!.FullName, "local.settings.example.json")));
        return [.. document.RootElement.GetProperty("Values").EnumerateObject().Select(p => KeyValuePair.Create(p.Name, p.Value.GetString()!))];
    }

    [Fact]
    public void The_example_settings_configure_every_subscriber_the_code_sends_to()
    {
        var configuration = Configuration(ExampleValues());
        var (authorizations, referrals) = Policies(configuration);

        var referenced = NoticeSubscribers.Referenced(configuration, authorizations, referrals).Select(s => s.Id);

        Assert.Equal(["authorizations", "members", "plan-staff", "ciela", "ehreast", "plana", "reconciliations"], referenced);
        Assert.Empty(NoticeSubscribers.Problems(configuration, authorizations, referrals));
    }

    [Fact]
    public void The_example_settings_have_a_generic_and_a_fhir_platform_and_only_usable_placeholder_secrets()
    {
        var values = ExampleValues();
        var platforms = new WebhookPlatforms(Configuration(values));

        Assert.Equal(WebhookFormat.Generic, platforms.Find("ciela")?.Format);
        Assert.Equal(WebhookFormat.Fhir, platforms.Find("ehreast")?.Format);
        Assert.All(values.Where(v => v.Key.Contains("__Secrets__", StringComparison.Ordinal)), v => Assert.Null(StandardWebhookSignature.Problem(v.Value)));
        Assert.Equal(values.Count, values.Select(v => v.Key).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task A_subscriber_without_url_or_secret_is_one_warning_at_start_naming_the_settings()
    {
        var configuration = Configuration(ExampleValues().Where(v => !v.Key.StartsWith("Notifications__Subscribers__members__", StringComparison.Ordinal)
            && v.Key != "Notifications__Subscribers__ciela__Url"));
        var (authorizations, referrals) = Policies(configuration);
        var logs = new ListLogger();
        var services = new ServiceCollection().AddSingleton(authorizations).AddSingleton(referrals).BuildServiceProvider();

        await new NoticeSubscriberCheck(configuration, services, logs).StartAsync(CancellationToken.None);

        Assert.Equal(
        [
            "Warning: Notification subscriber 'members' (referral notices to members) is not configured, so these notices are not sent: set Notifications__Subscribers__members__Url and Notifications__Subscribers__members__Secrets__0 (a whsec_ secret)",
            "Warning: Notification subscriber 'ciela' (referral notices to the referring entities of platform 'ciela') is not configured, so these notices are not sent: set Notifications__Subscribers__ciela__Url",
        ], logs.Lines);
    }

    [Fact]
    public async Task A_notice_to_a_subscriber_without_url_is_left_out_without_failing_the_dispatch()
    {
        var configuration = Configuration([new("Notifications__Subscribers__authorizations__Url", "http://127.0.0.1:9/hooks")]);
        var inner = new RecordingNotifier();
        var notifier = new ConfiguredSubscribersNotifier(inner, configuration, new ListLogger<ConfiguredSubscribersNotifier>());

        for (var i = 0; i < 3; i++)
        {
            await notifier.SendAsync($"d-{i}", new SendNotification($"k-{i}", "calaim.referral.assigned", "members", null, "ciela:R-1", null), DateTimeOffset.UtcNow, CancellationToken.None);
        }

        await notifier.SendAsync("d-9", new SendNotification("k-9", "calaim.authorization.received", "authorizations", null, "auth-1", null), DateTimeOffset.UtcNow, CancellationToken.None);

        Assert.Equal(["d-9"], inner.Sent);
    }

    private sealed class RecordingNotifier : IWorkflowNotifier
    {
        public List<string> Sent { get; } = [];

        public Task SendAsync(string deliveryId, SendNotification notice, DateTimeOffset time, CancellationToken cancellationToken)
        {
            Sent.Add(deliveryId);
            return Task.CompletedTask;
        }
    }

    private class ListLogger : ILogger<NoticeSubscriberCheck>
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                Lines.Add($"{logLevel}: {formatter(state, exception)}");
            }
        }
    }

    private sealed class ListLogger<T> : ListLogger, ILogger<T>;
}
