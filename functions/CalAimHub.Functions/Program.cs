using CalAimHub.Functions.Authorizations;
using CalAimHub.Functions.StaffConsole;
using CalAimHub.Functions.ConsoleData;
using CalAimHub.Functions.Consent;
using CalAimHub.Functions.Extensions;
using CalAimHub.Functions.Health;
using CalAimHub.Functions.Ingestion;
using CalAimHub.Functions.Invocations;
using CalAimHub.Functions.Monitoring;
using CalAimHub.Functions.Invoices;
using CalAimHub.Functions.Notifications;
using CalAimHub.Functions.Operations;
using CalAimHub.Functions.Outbound;
using CalAimHub.Functions.Referrals;
using CalAimHub.Functions.Staff;
using CalAimHub.Functions.Workflows;
using CalAimHub.Workflows;

// The Azure Functions custom handler: the Functions host starts this process, forwards HTTP requests to /api/...
// and POSTs queue/timer invocations to /{FunctionName}. Slim builder: cold start is billed and felt on Flex Consumption.
var builder = WebApplication.CreateSlimBuilder(args);
builder.AddFunctionAppHosting();
builder.AddHubStorage();
builder.AddHubTelemetry();
builder.AddNotifications();
builder.AddIngestion();
builder.AddWorkflows();
builder.AddAuthorizations();
builder.AddReferrals();
builder.AddStaffAccess();
builder.AddOperations();
builder.AddConsoleData();
builder.AddMonitoringExtract();
builder.AddInvoices();
builder.AddConsent();
builder.AddOutbound();

var app = builder.Build();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseRateLimiter(); // admission control on the webhook route (WebhookAdmission)
app.UseAuthentication(); // staff principal from App Service authentication (StaffAccess): 401/403 before any body is read
app.UseAuthorization();
app.UseStrictInput(); // control characters in ids and queries, strict JSON bodies: refused before any handler

app.MapGet("/", () => Results.Text("CalAimHub handler ready")).ExcludeFromDescription().AllowAnonymous();
app.MapHealthApi();
app.MapApiContract();

app.MapQueueFunction<NotifyFunction>("Notify");
app.MapQueueFunction<IngestPartnerFile>("IngestPartnerFile");
app.MapFileValidationApi();
app.MapFileReportApi();
app.MapTimerFunction<PoisonQueueMonitor>("PoisonQueueMonitor");
app.MapOperationsApi();
app.MapMonitoringExtractApi();
app.MapTimerFunction<MonitoringExtractTimer>("MonitoringExtract"); // 14:00 UTC on the 1st: 06:00/07:00 Pacific, the month before is complete
app.MapWorkflowFunctions();
app.MapWorkflowsApi();
app.MapAuthorizationsApi();
app.MapReferrals();
app.MapConsoleUi();
app.MapConsoleApi();
app.MapInvoices();
app.MapConsent();
app.MapOutbound();

app.MapApiFallback();
app.EnsureEveryFunctionIsHandled();

app.Run();

/// <summary>Entry point type, visible to tests.</summary>
public partial class Program;
