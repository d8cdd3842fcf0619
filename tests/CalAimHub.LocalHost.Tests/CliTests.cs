using CalAimHub.Hosting.Invocations;

namespace CalAimHub.LocalHost.Tests;

public sealed class CliTests
{
    private static HubCli Cli() => new(TextWriter.Null, TextWriter.Null);

    [Fact]
    public void Run_options_are_parsed_into_LocalHubOptions()
    {
        var cli = Cli();
        var result = cli.Root.Parse([
            "run", "--in-memory", "--port", "0", "--app", "/tmp/app", "--repo", "/tmp/repo", "--data", "/tmp/data",
            "--setting", "Notifications__Subscribers__demo__Secrets__0=whsec_abc=", "--setting", "Notifications__RequireHttps=false",
            "--setting", "Notifications__RequireHttps=true", "--setting", "Empty=",
            "--host-setting", "extensions:queues:visibilityTimeout=00:00:00",
        ]);

        Assert.Empty(result.Errors);
        var options = cli.RunOptions(result);
        Assert.True(options.InMemoryStorage);
        Assert.Equal(0, options.HttpPort);
        Assert.Equal("/tmp/app", options.AppDirectory);
        Assert.Equal("/tmp/repo", options.RepositoryRoot);
        Assert.Equal("/tmp/data", options.DataDirectory);
        Assert.Equal((10000, 10001, 10002), (options.BlobPort, options.QueuePort, options.TablePort));
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["Notifications__Subscribers__demo__Secrets__0"] = "whsec_abc=", // only the first '=' separates
                ["Notifications__RequireHttps"] = "true", // the last one wins
                ["Empty"] = "",
            },
            options.AppSettings);
        Assert.Equal(new Dictionary<string, string> { ["extensions:queues:visibilityTimeout"] = "00:00:00" }, options.HostOverrides);
    }

    [Fact]
    public void Run_defaults_are_the_documented_ones()
    {
        var cli = Cli();
        var options = cli.RunOptions(cli.Root.Parse(["run"]));

        Assert.Equal(7071, options.HttpPort);
        Assert.False(options.InMemoryStorage);
        Assert.Null(options.DataDirectory);
        Assert.Equal(LocalHubOptions.DefaultAppDirectory, options.AppDirectory);
        Assert.Equal(LocalHubOptions.DefaultRepositoryRoot, options.RepositoryRoot);
        Assert.Equal(Path.Combine(LocalHubOptions.DefaultRepositoryRoot, ".hub", "azurite"), options.ResolvedDataDirectory);
        Assert.Empty(options.AppSettings);
    }

    [Fact]
    public void Instances_come_from_the_option_and_default_to_HUB_INSTANCES_or_1()
    {
        var cli = Cli();
        Assert.Equal(3, cli.RunOptions(cli.Root.Parse(["run", "--instances", "3"])).Instances);
        Assert.Equal(1, cli.RunOptions(cli.Root.Parse(["run"])).Instances);
        Assert.Equal("--instances must be between 1 and 16.", Assert.Single(cli.Root.Parse(["run", "--instances", "0"]).Errors).Message);

        var before = Environment.GetEnvironmentVariable(LocalHubOptions.InstancesVariable);
        try
        {
            Environment.SetEnvironmentVariable(LocalHubOptions.InstancesVariable, "2");
            Assert.Equal(2, new LocalHubOptions().Instances);
            Environment.SetEnvironmentVariable(LocalHubOptions.InstancesVariable, "zero");
            Assert.Equal(1, new LocalHubOptions().Instances);
        }
        finally
        {
            Environment.SetEnvironmentVariable(LocalHubOptions.InstancesVariable, before);
        }
    }

    [Theory]
    [InlineData("novalue")]
    [InlineData("=value")]
    [InlineData(" =value")]
    public void A_setting_without_a_key_is_a_parse_error(string setting)
    {
        var result = Cli().Root.Parse(["run", "--setting", "Good=1", "--setting", setting]);

        Assert.Equal($"--setting '{setting}' must be KEY=VALUE.", Assert.Single(result.Errors).Message);
    }

    [Fact]
    public async Task Status_without_a_running_hub_exits_1_and_says_so()
    {
        var repository = Path.Combine(Path.GetTempPath(), "hub-test-status-" + Guid.NewGuid().ToString("N")[..8]);
        using var error = new StringWriter();
        var exitCode = await new HubCli(TextWriter.Null, error).Root.Parse(["status", "--repo", repository]).InvokeAsync();

        Assert.Equal(1, exitCode);
        Assert.Equal($"The hub is not running (no {Path.Combine(repository, ".hub", "hub.json")}). Start it with ./hub run.", error.ToString().TrimEnd());
    }

    [Fact]
    public void A_test_notification_has_the_documented_shape()
    {
        var id = Guid.NewGuid();
        var message = HubCli.NotificationMessage("demo", "http://127.0.0.1:9000/hook", "calaimhub.test", null, id);

        Assert.Equal(
            $$$"""{"deliveryId":"{{{id}}}","subscriber":"demo","url":"http://127.0.0.1:9000/hook","type":"calaimhub.test","data":{"message":"test notification"}}""",
            message.ToJsonString());
        var custom = HubCli.NotificationMessage("demo", "https://x.example/h", "referral.updated", """{"referralId":"R-1"}""", id);
        Assert.Equal("R-1", (string?)custom["data"]!["referralId"]);
        Assert.Equal("--data is not valid JSON: ", Assert.Throws<ArgumentException>(() => HubCli.NotificationMessage("demo", "https://x.example/h", "t", "{nope", id)).Message[..26]);
        Assert.Equal("--url 'not a url' is not an absolute URL.", Assert.Throws<ArgumentException>(() => HubCli.NotificationMessage("demo", "not a url", "t", null, id)).Message);
    }

    [Fact]
    public async Task Replay_moves_poison_messages_back_unwrapping_dead_letters()
    {
        using var app = TestApp.Create(new() { ["Work"] = TestApp.Queue("work") });
        await using var handler = await StandInHandler.StartAsync();
        await using var hub = await LocalHub.StartAsync(Hubs.For(app, handler) with { EnableQueueTriggers = false });
        var poison = hub.Storage.Queues.GetQueueClient("work-poison");
        var deadLetter = new DeadLetter("Work", "work", "m-1", 5, "receiver answered 500", DateTimeOffset.UtcNow, "{\"original\":1}");
        await poison.SendMessageAsync(deadLetter.ToJson());
        await poison.SendMessageAsync("raw body the host copied");

        var count = await HubCli.ReplayAsync(hub.Storage.Queues, "work", CancellationToken.None);

        Assert.Equal(2, count);
        Assert.Empty((await poison.PeekMessagesAsync(32)).Value);
        var replayed = (await hub.Storage.Queues.GetQueueClient("work").PeekMessagesAsync(32)).Value.Select(m => m.Body.ToString()).Order().ToArray();
        Assert.Equal(["raw body the host copied", "{\"original\":1}"], replayed);
    }

    [Fact]
    public void Host_json_arguments_expand_app_settings()
    {
        var settings = new Dictionary<string, string> { ["PORT"] = "5000" };

        Assert.Equal("--urls http://127.0.0.1:5000 %UNKNOWN_SETTING_X%", Handler.ExpandAppSettings("--urls http://127.0.0.1:%PORT% %UNKNOWN_SETTING_X%", settings));
    }

    [Fact]
    public void Local_settings_values_are_read_like_core_tools()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, """{ "IsEncrypted": false, "Values": { "A": "1", "B": true, "C": null }, "Host": { "LocalHttpPort": 7071 } }""");
            Assert.Equal(new Dictionary<string, string> { ["A"] = "1", ["B"] = "true" }, LocalHub.ReadLocalSettings(path).ToDictionary());
        }
        finally
        {
            File.Delete(path);
        }
    }


    [Fact]
    public void A_fast_business_clock_gets_the_hub_start_as_its_epoch_so_every_instance_agrees()
    {
        var hubStart = new DateTimeOffset(2026, 12, 3, 12, 30, 0, TimeSpan.Zero);
        var settings = new Dictionary<string, string> { ["Authorizations__AcceleratedClock__Start"] = "2026-05-04T09:00:00-07:00", ["Other"] = "x" };
        LocalHub.ShareAcceleratedClock(settings, hubStart);
        Assert.Equal("2026-12-03T12:30:00.0000000+00:00", settings["Authorizations__AcceleratedClock__Epoch"]);

        // An epoch the caller chose is kept; colon keys (local.settings.json) count too.
        var chosen = new Dictionary<string, string> { ["Authorizations:AcceleratedClock:Start"] = "2026-05-04T09:00:00-07:00", ["Authorizations:AcceleratedClock:Epoch"] = "2026-01-01T00:00:00Z" };
        LocalHub.ShareAcceleratedClock(chosen, hubStart);
        Assert.Equal(2, chosen.Count);
        Assert.Equal("2026-01-01T00:00:00Z", chosen["Authorizations:AcceleratedClock:Epoch"]);

        // No fast clock, no epoch: the handlers' business clock is the real one.
        var real = new Dictionary<string, string> { ["Other"] = "x" };
        LocalHub.ShareAcceleratedClock(real, hubStart);
        Assert.Equal(["Other"], real.Keys);
    }
}
