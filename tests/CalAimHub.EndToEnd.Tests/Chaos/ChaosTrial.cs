using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CalAimHub.Hosting.Webhooks;
using CalAimHub.LocalHost;

namespace CalAimHub.Chaos;

/// <summary>
/// The chaos trial of issue 11: a local hub with <see cref="ChaosTrialOptions.Instances"/> handler instances on one Azurite, a
/// mixed load — signed referral webhooks (new referrals, status changes, redeliveries under the same webhook-id), partner RTF
/// files of thousands of rows (some with invalid rows), expedited authorization requests with decisions for some and reminder
/// timers coming due for the others (accelerated business clock), one notice to a subscriber that always fails — while
/// <c>kill -9</c> hits a random instance at random moments. Then <see cref="ChaosVerifier"/> checks every invariant exactly.
/// </summary>
/// <remarks>
/// Clients behave as the docs tell partners to: a webhook or request answered 502/503/429 or not answered at all (its instance
/// died under it) is sent again with the same webhook-id / the same body. Each step of a referral waits until the hub shows the
/// previous one, as a real platform's status changes come after the provider saw the referral.
/// </remarks>
public sealed class ChaosTrial
{
    public const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    public const string Platform = "ciela";
    public const string ProviderNpi = "1000000012";
    public const string Service = "medically-tailored-meals";

    /// <summary>Business clock: starts on a Monday morning and runs 60× (a minute a second): a referral's 2-working-day
    /// acknowledgement clock never comes due during a trial, an expedited authorization's reminder (set 20 virtual minutes after
    /// the request) does, about 20 s after it.</summary>
    public const double ClockSpeed = 60;
    public const string ExpeditedReminderLead = "2.23:40:00";

    private readonly ChaosTrialOptions options;
    private readonly Action<string> progress;
    private readonly ConcurrentQueue<string> hubLog = new();
    private readonly ConcurrentDictionary<int, int> answers = new();
    private readonly ConcurrentQueue<string> anomalies = new();
    private readonly List<int> killedPids = [];
    private LocalHub hub = null!;
    private HttpClient api = null!;
    private int planned;
    private int done;

    private ChaosTrial(ChaosTrialOptions options, Action<string> progress)
    {
        this.options = options;
        this.progress = progress;
        Seed = options.Seed ?? Environment.TickCount;
    }

    public int Seed { get; }

    public static async Task<ChaosResult> RunAsync(ChaosTrialOptions options, Action<string>? progress = null)
    {
        var trial = new ChaosTrial(options, progress ?? (_ => { }));
        return await trial.RunAsync();
    }

    private async Task<ChaosResult> RunAsync()
    {
        var clock = Stopwatch.StartNew();
        await using var receivers = await NoticeReceivers.StartAsync(Secret);
        var plan = ChaosPlan.Create(options, Seed);
        await using (hub = await LocalHub.StartAsync(HubOptions(receivers, plan)))
        {
            using (api = new HttpClient { BaseAddress = hub.ApiBaseAddress, Timeout = TimeSpan.FromSeconds(100) })
            {
                progress($"seed {Seed}: hub up with {hub.Instances.Count} instances in {clock.Elapsed.TotalSeconds:0} s; driving {plan.Referrals.Count} referrals, {plan.Authorizations.Count} authorizations, {plan.Files.Count} files of {options.RowsPerFile:N0} rows, {options.Kills} kills");
                await PutProviderAsync();
                await hub.Storage.Queues.GetQueueClient("notifications").SendMessageAsync(
                    $$"""{"deliveryId":"{{ChaosPlan.PoisonDeliveryId}}","subscriber":"{{NoticeReceivers.FailingSubscriber}}","url":"{{receivers.UrlOf(NoticeReceivers.FailingSubscriber)}}","type":"calaimhub.chaos.canary","data":{} }""");

                using var stopKiller = new CancellationTokenSource();
                var load = Task.WhenAll(
                    Parallel.ForEachAsync(plan.Files, new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (file, _) => await DropFileAsync(file)),
                    Parallel.ForEachAsync(plan.Authorizations, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Concurrency / 2) }, async (a, _) => await AuthorizeAsync(a)),
                    Parallel.ForEachAsync(plan.Referrals, new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency }, async (r, _) => await ReferAsync(r)));
                planned = plan.Referrals.Sum(r => r.Steps.Count) + plan.Authorizations.Sum(a => a.Decision is null ? 1 : 2) + plan.Files.Count;
                var killer = KillAsync(new Random(Seed), load);
                await load;
                progress($"load sent in {clock.Elapsed.TotalSeconds:0} s; {killedPids.Count} kills so far");
                await killer;
                progress($"{killedPids.Count} kills done at {clock.Elapsed.TotalSeconds:0} s; waiting for the hub to settle");

                var verifier = new ChaosVerifier(hub, api, receivers, plan);
                var settled = await verifier.WaitUntilSettledAsync(options.Wait);
                var result = await verifier.VerifyAsync(options, killedPids.Count, hub.Instances.Sum(i => i.Restarts), answers, [.. anomalies], clock.Elapsed, settled, Seed);
                if (!result.Passed)
                {
                    // The whole story for whoever reads the failure: the host's log and every handler line.
                    var path = Path.Combine(Path.GetTempPath(), $"calaimhub-chaos-{Seed}.log");
                    await File.WriteAllLinesAsync(path, hubLog.Concat(["--- handler output ---"]).Concat(hub.HandlerOutput));
                    result = result with { LogFile = path };
                }

                return result with { HubLog = [.. hubLog.TakeLast(40)] };
            }
        }
    }

    private LocalHubOptions HubOptions(NoticeReceivers receivers, ChaosPlan plan)
    {
        var settings = new Dictionary<string, string>
        {
            ["Notifications__RequireHttps"] = "false",
            ["Notifications__TimeoutSeconds"] = "5",
            [$"Webhooks__Platforms__{Platform}__Secrets__0"] = Secret,
            // Referrals route at once (no authorization child): their own authorization flow is driven through the API.
            ["Referrals__AuthorizationServices"] = "",
            ["Authorizations__AcceleratedClock__Start"] = "2026-05-04T09:00:00-07:00",
            ["Authorizations__AcceleratedClock__Speed"] = ClockSpeed.ToString(CultureInfo.InvariantCulture),
            ["Authorizations__ExpeditedReminderLead"] = ExpeditedReminderLead,
            ["Authorizations__Subscribers__0"] = ChaosPlan.AuthorizationSubscriber,
            ["Workflows__MaxTimerDelay"] = options.TimerRecheck.ToString("c", CultureInfo.InvariantCulture),
            // What a kill left between commit and dispatch is swept 20 s later rather than a minute (see TimerSchedules).
            ["Workflows__SweepGrace"] = "00:00:20",
            ["Webhooks__SweepGrace"] = "00:00:20",
            ["Authorizations__ClaimSweepGrace"] = "00:00:20",
        };
        foreach (var subscriber in new[] { Platform, ChaosPlan.MemberSubscriber, "plan-staff", ChaosPlan.AuthorizationSubscriber, ChaosPlan.FileSubscriber, NoticeReceivers.FailingSubscriber })
        {
            settings[$"Notifications__Subscribers__{subscriber}__Url"] = receivers.UrlOf(subscriber).ToString();
            settings[$"Notifications__Subscribers__{subscriber}__Secrets__0"] = Secret;
        }

        foreach (var file in plan.Files)
        {
            settings[$"Ingestion__Partners__{file.Partner}__Subscriber"] = ChaosPlan.FileSubscriber;
            settings[$"Ingestion__Partners__{file.Partner}__NotificationUrl"] = receivers.UrlOf(ChaosPlan.FileSubscriber).ToString();
            settings[$"Ingestion__Partners__{file.Partner}__Kinds__0"] = "rtf";
        }

        return new LocalHubOptions
        {
            InMemoryStorage = true,
            HttpPort = 0,
            UseLocalSettingsFile = false,
            Instances = options.Instances,
            HandlerRestartDelay = TimeSpan.FromMilliseconds(250),
            HandlerRestartMaxDelay = TimeSpan.FromSeconds(2),
            BlobPollInterval = TimeSpan.FromMilliseconds(250),
            Log = hubLog.Enqueue,
            AppSettings = settings,
            // The sweepers every 10 s (every 1–2 minutes as shipped), so a trial settles in seconds after its last kill.
            TimerSchedules = new Dictionary<string, string>
            {
                ["WorkflowSweeper"] = "*/10 * * * * *",
                ["ReferralDispatchSweeper"] = "*/10 * * * * *",
                ["AuthorizationClaimSweeper"] = "*/10 * * * * *",
            },
            HostOverrides = new Dictionary<string, string>
            {
                // A message whose invocation died with its instance comes back in 2 s (30 s as shipped).
                ["extensions:queues:visibilityTimeout"] = "00:00:02",
                ["extensions:queues:maxPollingInterval"] = "00:00:00.250",
            },
        };
    }

    private async Task KillAsync(Random random, Task load)
    {
        // Random points of the load's progress, in order: a kill lands at a random moment of every phase of it.
        var points = Enumerable.Range(0, options.Kills).Select(_ => random.NextDouble() * 0.95).Order().ToArray();
        for (var kill = 0; kill < options.Kills; kill++)
        {
            while (!load.IsCompleted && Volatile.Read(ref done) < points[kill] * planned)
            {
                await Task.Delay(50);
            }

            var (min, max) = options.Gap;
            await Task.Delay(TimeSpan.FromMilliseconds(random.Next((int)min.TotalMilliseconds, (int)max.TotalMilliseconds)));
            var instance = hub.Instances[random.Next(hub.Instances.Count)];
            // The chosen instance may still be coming back from the previous kill: wait for its new process.
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (instance.ProcessId is null && DateTime.UtcNow < until)
            {
                await Task.Delay(50);
            }

            if (instance.ProcessId is not { } pid)
            {
                anomalies.Enqueue($"instance {instance.Number} did not come back within 60 s of a kill");
                continue;
            }

            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill(); // SIGKILL on Linux: kill -9
                lock (killedPids)
                {
                    killedPids.Add(pid);
                }
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                kill--; // it exited between the look and the kill: pick again
            }
        }
    }

    private async Task PutProviderAsync()
    {
        var (status, body) = await SendAsync(() => new HttpRequestMessage(HttpMethod.Put, $"/api/providers/{ProviderNpi}")
        {
            Content = JsonContent.Create(new { name = "Chaos Meals", services = new[] { Service }, counties = new[] { "Alameda" }, capacity = new { serving = 0, ableToServe = 10 } }),
        });
        if ((int)status >= 300)
        {
            throw new InvalidOperationException($"PUT provider answered {(int)status}: {body}");
        }
    }

    private async Task DropFileAsync(ChaosFile file)
    {
        var blob = hub.Storage.Blobs.GetBlobContainerClient("inbound").GetBlobClient(file.BlobName);
        await blob.UploadAsync(BinaryData.FromString(file.Content), overwrite: true);
        Interlocked.Increment(ref done);
    }

    private async Task AuthorizeAsync(ChaosAuthorization authorization)
    {
        var request = new
        {
            memberCin = authorization.Cin,
            service = new { program = "ecm", populationsOfFocus = new[] { "experiencing-homelessness-adults" } },
            requestingProviderNpi = "1245319599",
            referringEntity = "county-hospital",
            urgency = "expedited",
            supportingFacts = new[] { "experiencing-homelessness", "complex-need-unable-to-self-manage" },
            consentReference = "ascmi-2026-0001",
        };
        var (status, body) = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, "/api/authorizations") { Content = JsonContent.Create(request) });
        string? id = null;
        if (status == HttpStatusCode.Created)
        {
            id = JsonDocument.Parse(body).RootElement.GetProperty("authorizationId").GetString();
        }
        else if (status == HttpStatusCode.Conflict && JsonDocument.Parse(body).RootElement.TryGetProperty("existingAuthorizationId", out var existing))
        {
            // An earlier attempt started it and its answer was lost with the instance: the member index names it.
            id = existing.GetString();
        }

        if (id is null && status is (HttpStatusCode)0 or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable)
        {
            // No usable answer (no answer, or an instance dying under it, retried until the trial's patience ran out): the hub
            // may still have started it. A partner reconciles by asking for the member's authorizations, so the trial does the same and
            // goes on with the one it finds; counting it as "never started" would call the hub's one instance a duplicate.
            var (listed, list) = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, $"/api/members/{authorization.Cin}/authorizations"));
            if (listed == HttpStatusCode.OK && JsonDocument.Parse(list).RootElement.TryGetProperty("authorizations", out var held) && held.GetArrayLength() == 1
                && held[0].TryGetProperty("authorizationId", out var heldId))
            {
                id = heldId.GetString();
                progress($"authorization for member #{authorization.Number}: POST never answered; reconciled to {id} from the member's authorizations");
                // Listed without a status: claimed, but its request died before the start. The list never starts it;
                // AuthorizationClaimSweeper does after its grace, and only then can it be decided.
                if (!held[0].TryGetProperty("status", out _) && !await WaitForAuthorizationAsync(id!))
                {
                    anomalies.Enqueue($"authorization {id}: claimed but not started by the claim sweeper within {AuthorizationStartPatience.TotalSeconds:0} s");
                    return;
                }
            }
        }

        if (id is null)
        {
            anomalies.Enqueue($"authorization for member #{authorization.Number}: POST answered {(int)status}: {Trim(body)}");
            return;
        }

        authorization.Id = id;
        Interlocked.Increment(ref done);
        if (authorization.Decision is not { } outcome)
        {
            return;
        }

        var decision = outcome == "approve"
            ? (object)new { outcome, decidedBy = "chaos-staff" }
            : new { outcome, reason = "Does not meet the Population of Focus criteria", decidedBy = "chaos-staff" };
        (status, body) = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, $"/api/authorizations/{id}/decision") { Content = JsonContent.Create(decision) });
        // 409 after a lost answer: the first attempt decided it (the verifier checks the status).
        if (status is not (HttpStatusCode.OK or HttpStatusCode.Conflict))
        {
            anomalies.Enqueue($"authorization {id}: decision answered {(int)status}: {Trim(body)}");
        }

        Interlocked.Increment(ref done);
    }

    /// <summary>The claim sweeper's grace (20 s here) and schedule (10 s), with room for a kill or two.</summary>
    private static readonly TimeSpan AuthorizationStartPatience = TimeSpan.FromSeconds(90);

    /// <summary>True once <c>GET /api/authorizations/{id}</c> finds the workflow; false after <see cref="AuthorizationStartPatience"/>.</summary>
    private async Task<bool> WaitForAuthorizationAsync(string id)
    {
        var until = DateTime.UtcNow + AuthorizationStartPatience;
        while (DateTime.UtcNow < until)
        {
            var (status, _) = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, $"/api/authorizations/{Uri.EscapeDataString(id)}"));
            if (status == HttpStatusCode.OK)
            {
                return true;
            }

            await Task.Delay(TimeSpan.FromSeconds(1));
        }

        return false;
    }

    private async Task ReferAsync(ChaosReferral referral)
    {
        for (var step = 0; step < referral.Steps.Count; step++)
        {
            var (status, body) = referral.Steps[step];
            if (step > 0 && !await WaitForReferralAsync(referral, referral.Steps[step - 1].Status))
            {
                anomalies.Enqueue($"referral {referral.ReferralId}: '{referral.Steps[step - 1].Status}' never showed in its workflow; later steps not sent");
                return;
            }

            var webhookId = $"evt_{referral.PlatformReferralId}_{step}";
            var (answer, text) = await WebhookAsync(webhookId, body);
            if (answer != HttpStatusCode.Accepted)
            {
                anomalies.Enqueue($"referral {referral.ReferralId}: webhook '{status}' answered {(int)answer}: {Trim(text)}");
                if (answer == 0)
                {
                    referral.InDoubt = status;
                }

                return;
            }

            referral.Accepted.Enqueue(status);
            Interlocked.Increment(ref done);
            if (step == 0 && referral.Redelivered)
            {
                var (again, againText) = await WebhookAsync(webhookId, body);
                if (again != HttpStatusCode.Accepted)
                {
                    anomalies.Enqueue($"referral {referral.ReferralId}: redelivery of '{webhookId}' answered {(int)again}: {Trim(againText)}");
                }
            }
        }
    }

    /// <summary>Polls the referral until its workflow reports <paramref name="status"/> (real platforms send the next status later).</summary>
    private async Task<bool> WaitForReferralAsync(ChaosReferral referral, string status)
    {
        var until = DateTime.UtcNow + options.Wait;
        while (DateTime.UtcNow < until)
        {
            var (answer, body) = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, $"/api/referrals/{Uri.EscapeDataString(referral.ReferralId)}"));
            if (answer == HttpStatusCode.OK)
            {
                var view = JsonDocument.Parse(body).RootElement;
                if (view.TryGetProperty("workflow", out var workflow) && workflow.ValueKind == JsonValueKind.Object
                    && workflow.GetProperty("status").GetString() == status
                    && (status != "Pending" || workflow.GetProperty("phase").GetString() == "awaiting-acknowledgement"))
                {
                    return true;
                }
            }

            await Task.Delay(1000);
        }

        return false;
    }

    private Task<(HttpStatusCode Status, string Body)> WebhookAsync(string webhookId, string body) => SendAsync(() =>
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var at = DateTimeOffset.UtcNow;
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/webhooks/{Platform}") { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add(StandardWebhookSignature.IdHeader, webhookId);
        request.Headers.Add(StandardWebhookSignature.TimestampHeader, at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(StandardWebhookSignature.SignatureHeader, StandardWebhookSignature.Sign(webhookId, at, bytes, [Secret]));
        return request;
    });

    /// <summary>
    /// Sends until an answer that is not "the instance died under it or is busy" (502, 503, 429, no answer), as a partner retries;
    /// every answer is counted. Any other 5xx is a defect: it is counted and sent again too, so one bug does not hide the rest.
    /// </summary>
    private async Task<(HttpStatusCode Status, string Body)> SendAsync(Func<HttpRequestMessage> create)
    {
        var until = DateTime.UtcNow + options.Wait;
        while (true)
        {
            try
            {
                using var request = create();
                using var response = await api.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                answers.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
                if ((int)response.StatusCode < 500 && response.StatusCode != HttpStatusCode.TooManyRequests || DateTime.UtcNow > until)
                {
                    return (response.StatusCode, body);
                }

                if (response.StatusCode is not (HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable))
                {
                    anomalies.Enqueue($"{request.Method} {request.RequestUri}: {(int)response.StatusCode}: {Trim(body)}");
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                answers.AddOrUpdate(0, 1, (_, n) => n + 1);
                if (DateTime.UtcNow > until)
                {
                    return (0, e.Message);
                }
            }

            await Task.Delay(300);
        }
    }

    private static string Trim(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
