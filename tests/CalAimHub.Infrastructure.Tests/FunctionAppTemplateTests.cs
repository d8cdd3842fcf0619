using System.Text.Json.Nodes;
using CalAimHub.Infrastructure.Tests.Support;

namespace CalAimHub.Infrastructure.Tests;

/// <summary>The Flex Consumption plan and the custom-handler function app in the compiled template.</summary>
[Collection(CompiledTemplateCollection.Name)]
public sealed class FunctionAppTemplateTests(CompiledTemplate compiled)
{
    private const string IdentityId = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/idtest";

    private static readonly Dictionary<string, JsonNode?> StandIns = new()
    {
        ["name"] = "func-test",
        ["planName"] = "plan-test",
        ["location"] = "westus3",
        ["tags"] = new JsonObject { ["azd-env-name"] = "dev" },
        ["identityId"] = IdentityId,
        ["identityClientId"] = "client-id",
        ["storageBlobEndpoint"] = "https://sttest.blob.core.windows.net/",
        ["storageQueueEndpoint"] = "https://sttest.queue.core.windows.net/",
        ["storageTableEndpoint"] = "https://sttest.table.core.windows.net/",
        ["deploymentContainerName"] = "app-package-test",
        ["applicationInsightsConnectionString"] = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://westus3-1.in.applicationinsights.azure.com/",
        ["keyVaultUri"] = "https://kvtest.vault.azure.net/",
        ["listContinuationKeyUri"] = "https://kvtest.vault.azure.net/secrets/list-continuation-key/0123abcd",
        ["monitoringMemberKeyUri"] = "https://kvtest.vault.azure.net/secrets/monitoring-member-key/4567cdef",
        ["logAnalyticsWorkspaceId"] = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/log",
        ["instanceMemoryMB"] = 2048,
        ["maximumInstanceCount"] = 100,
        ["notificationSubscribers"] = new JsonArray(),
        ["webhookPlatforms"] = new JsonArray(),
        ["staffSignInClientId"] = "",
        ["staffSignInIssuer"] = "",
        ["exchangeBlobEndpoint"] = "",
    };

    private const string StaffClientId = "11111111-2222-3333-4444-555555555555";

    private JsonObject App => compiled.Module("functionapp");

    [Fact]
    public void Plan_is_flex_consumption_fc1_on_linux()
    {
        var (plan, scope) = Assert.Single(ArmTemplate.Expand(App, Scope(), "Microsoft.Web/serverfarms"));

        Assert.Equal("FC1", ArmTemplate.Evaluate(plan, scope, "sku.name")!.GetValue<string>());
        Assert.Equal("FlexConsumption", ArmTemplate.Evaluate(plan, scope, "sku.tier")!.GetValue<string>());
        Assert.True(ArmTemplate.Evaluate(plan, scope, "properties.reserved")!.GetValue<bool>());
    }

    [Fact]
    public void App_runs_the_custom_handler_runtime_from_the_identity_authenticated_package_container()
    {
        var (site, scope) = Site();

        Assert.Equal("functionapp,linux", ArmTemplate.Evaluate(site, scope, "kind")!.GetValue<string>());
        Assert.Equal("""{"name":"custom","version":"1.0"}""", ArmTemplate.Evaluate(site, scope, "properties.functionAppConfig.runtime")!.ToJsonString());
        Assert.Equal(
            $$$"""{"type":"blobContainer","value":"https://sttest.blob.core.windows.net/app-package-test","authentication":{"type":"UserAssignedIdentity","userAssignedIdentityResourceId":"{{{IdentityId}}}"}}""",
            ArmTemplate.Evaluate(site, scope, "properties.functionAppConfig.deployment.storage")!.ToJsonString());
        Assert.Equal("""{"instanceMemoryMB":2048,"maximumInstanceCount":100}""", ArmTemplate.Evaluate(site, scope, "properties.functionAppConfig.scaleAndConcurrency")!.ToJsonString());
        Assert.Equal(IdentityId, ArmTemplate.Evaluate(site, scope, "properties.keyVaultReferenceIdentity")!.GetValue<string>());
        Assert.Equal(new JsonObject { ["type"] = "UserAssigned", ["userAssignedIdentities"] = new JsonObject { [IdentityId] = new JsonObject() } }.ToJsonString(), ArmTemplate.Evaluate(site, scope, "identity")!.ToJsonString());
    }

    [Fact]
    public void Instance_memory_and_maximum_instances_are_parameters_of_main()
    {
        var main = compiled.Template["parameters"]!;

        Assert.Equal("[parameters('instanceMemoryMB')]", ArmTemplate.ModuleParameter(compiled.Template, "functionapp", "instanceMemoryMB")!.GetValue<string>());
        Assert.Equal("[parameters('maximumInstanceCount')]", ArmTemplate.ModuleParameter(compiled.Template, "functionapp", "maximumInstanceCount")!.GetValue<string>());
        Assert.Equal("[512,2048,4096]", main["instanceMemoryMB"]!["allowedValues"]!.ToJsonString());
        Assert.Equal(2048, main["instanceMemoryMB"]!["defaultValue"]!.GetValue<int>());
        Assert.Equal(1, main["maximumInstanceCount"]!["minValue"]!.GetValue<int>());
        Assert.Equal(1000, main["maximumInstanceCount"]!["maxValue"]!.GetValue<int>());
    }

    [Fact]
    public void App_is_https_only_with_tls_1_2_and_no_ftp_or_basic_auth_publishing()
    {
        var (site, scope) = Site();

        Assert.True(ArmTemplate.Evaluate(site, scope, "properties.httpsOnly")!.GetValue<bool>());
        Assert.Equal("1.2", ArmTemplate.Evaluate(site, scope, "properties.siteConfig.minTlsVersion")!.GetValue<string>());
        Assert.Equal("1.2", ArmTemplate.Evaluate(site, scope, "properties.siteConfig.scmMinTlsVersion")!.GetValue<string>());
        Assert.Equal("Disabled", ArmTemplate.Evaluate(site, scope, "properties.siteConfig.ftpsState")!.GetValue<string>());
        var basicAuth = ArmTemplate.Expand(App, scope, "Microsoft.Web/sites/basicPublishingCredentialsPolicies")
            .Select(p => $"{ArmTemplate.Evaluate(p.Resource, p.Scope, "name")} {ArmTemplate.Evaluate(p.Resource, p.Scope, "properties.allow")}")
            .Order(StringComparer.Ordinal);
        Assert.Equal(["func-test/ftp false", "func-test/scm false"], basicAuth);
    }

    [Fact]
    public void Azd_service_tag_matches_the_service_in_azure_yaml()
    {
        var (site, _) = Site();
        var serviceName = ArmExpression.EvaluateString(
            ArmTemplate.ModuleParameter(compiled.Template, "functionapp", "serviceName")!.GetValue<string>(), new ArmScope(compiled.Template))!.GetValue<string>();

        var tags = ArmTemplate.Evaluate(site, Scope(new() { ["serviceName"] = serviceName }), "tags")!;

        Assert.Equal(AzureYaml.Load().ServiceNames.Single(), tags["azd-service-name"]!.GetValue<string>());
        Assert.Equal("dev", tags["azd-env-name"]!.GetValue<string>());
    }

    [Fact]
    public void Host_storage_settings_are_identity_based()
    {
        var settings = AppSettings(Scope());

        Assert.Equal("https://sttest.blob.core.windows.net/", settings["AzureWebJobsStorage__blobServiceUri"]);
        Assert.Equal("https://sttest.queue.core.windows.net/", settings["AzureWebJobsStorage__queueServiceUri"]);
        Assert.Equal("https://sttest.table.core.windows.net/", settings["AzureWebJobsStorage__tableServiceUri"]);
        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"]);
        Assert.Equal("client-id", settings["AzureWebJobsStorage__clientId"]);
        Assert.False(settings.ContainsKey("AzureWebJobsStorage"));
        Assert.DoesNotContain(settings.Keys, k => k.Contains("accountKey", StringComparison.OrdinalIgnoreCase) || k.Contains("connectionString", StringComparison.OrdinalIgnoreCase) && k != "APPLICATIONINSIGHTS_CONNECTION_STRING");
        Assert.DoesNotContain(settings.Values, v => v.Contains("AccountKey=", StringComparison.OrdinalIgnoreCase) || v.Contains("SharedAccessSignature", StringComparison.OrdinalIgnoreCase));
        // Flex Consumption takes the runtime from functionAppConfig; these settings are rejected there.
        Assert.False(settings.ContainsKey("FUNCTIONS_WORKER_RUNTIME"));
        Assert.False(settings.ContainsKey("FUNCTIONS_EXTENSION_VERSION"));
    }

    [Fact]
    public void Application_insights_telemetry_authenticates_with_the_app_identity()
    {
        var settings = AppSettings(Scope());

        Assert.Equal("ClientId=client-id;Authorization=AAD", settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]);
        Assert.StartsWith("InstrumentationKey=", settings["APPLICATIONINSIGHTS_CONNECTION_STRING"], StringComparison.Ordinal);
        Assert.Equal(
            "[reference('monitoring').outputs.applicationInsightsConnectionString.value]",
            ArmTemplate.ModuleParameter(compiled.Template, "functionapp", "applicationInsightsConnectionString")!.GetValue<string>());
    }

    [Fact]
    public void Signing_secrets_are_key_vault_references_one_setting_per_active_secret()
    {
        var settings = AppSettings(Scope(new()
        {
            ["notificationSubscribers"] = JsonNode.Parse("""[{"id":"plan-a"},{"id":"plan-b","secretNames":["notify-plan-b-2025","notify-plan-b-2026"]}]"""),
            ["webhookPlatforms"] = JsonNode.Parse("""[{"id":"findhelp"}]"""),
        }));

        var secrets = settings.Where(s => s.Key.Contains("__Secrets__", StringComparison.Ordinal)).OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}={s.Value}");

        Assert.Equal(
            [
                "Notifications__Subscribers__plan-a__Secrets__0=@Microsoft.KeyVault(SecretUri=https://kvtest.vault.azure.net/secrets/notify-plan-a)",
                "Notifications__Subscribers__plan-b__Secrets__0=@Microsoft.KeyVault(SecretUri=https://kvtest.vault.azure.net/secrets/notify-plan-b-2025)",
                "Notifications__Subscribers__plan-b__Secrets__1=@Microsoft.KeyVault(SecretUri=https://kvtest.vault.azure.net/secrets/notify-plan-b-2026)",
                "Webhooks__Platforms__findhelp__Secrets__0=@Microsoft.KeyVault(SecretUri=https://kvtest.vault.azure.net/secrets/webhook-findhelp)",
            ],
            secrets);
    }

    [Fact]
    public void Only_fhir_platforms_get_a_format_setting()
    {
        var settings = AppSettings(Scope(new()
        {
            ["webhookPlatforms"] = JsonNode.Parse("""[{"id":"findhelp"},{"id":"epicfhir","format":"fhir"},{"id":"unite","format":"generic"}]"""),
        }));

        var formats = settings.Where(s => s.Key.EndsWith("__Format", StringComparison.Ordinal)).Select(s => $"{s.Key}={s.Value}");

        Assert.Equal(["Webhooks__Platforms__epicfhir__Format=fhir"], formats);
    }

    [Fact]
    public void The_exchange_account_endpoint_is_a_setting_only_when_sftp_gives_one()
    {
        Assert.False(AppSettings(Scope()).ContainsKey("Exchange__BlobServiceUri"));
        Assert.Equal("https://stxtest.blob.core.windows.net/",
            AppSettings(Scope(new() { ["exchangeBlobEndpoint"] = "https://stxtest.blob.core.windows.net/" }))["Exchange__BlobServiceUri"]);
    }

    [Fact]
    public void No_secret_setting_exists_without_a_subscriber_or_platform()
    {
        var settings = AppSettings(Scope());

        Assert.DoesNotContain(settings.Keys, k => k.Contains("__Secrets__", StringComparison.Ordinal));
        Assert.Equal(9, settings.Count);
    }

    [Fact]
    public void Compiled_template_has_no_keys_or_connection_strings_anywhere()
    {
        foreach (var forbidden in new[] { "listKeys", "listAccountSas", "listServiceSas", "AccountKey", "DefaultEndpointsProtocol", "SharedAccessSignature", "\"AzureWebJobsStorage\"", "InstrumentationKey=" })
        {
            Assert.DoesNotContain(forbidden, compiled.Text, StringComparison.OrdinalIgnoreCase);
        }

        Assert.NotEmpty(compiled.Text);
    }

    [Fact]
    public void Function_logs_go_to_log_analytics()
    {
        var (diagnostics, scope) = Assert.Single(ArmTemplate.Expand(App, Scope(), "Microsoft.Insights/diagnosticSettings"));

        Assert.Equal("""[{"category":"FunctionAppLogs","enabled":true}]""", ArmTemplate.Evaluate(diagnostics, scope, "properties.logs")!.ToJsonString());
    }

    [Fact]
    public void Without_a_staff_sign_in_client_id_there_is_no_app_service_authentication_and_no_secret_setting()
    {
        Assert.Empty(ArmTemplate.Expand(App, Scope(), "Microsoft.Web/sites/config"));
        Assert.False(AppSettings(Scope()).ContainsKey("MICROSOFT_PROVIDER_AUTHENTICATION_SECRET"));
    }

    [Fact]
    public void Staff_sign_in_requires_an_entra_user_everywhere_but_the_anonymous_routes_and_answers_401()
    {
        var scope = StaffScope();
        var (auth, authScope) = Assert.Single(ArmTemplate.Expand(App, scope, "Microsoft.Web/sites/config"));

        Assert.Equal("func-test/authsettingsV2", ArmTemplate.Evaluate(auth, authScope, "name")!.GetValue<string>());
        Assert.True(ArmTemplate.Evaluate(auth, authScope, "properties.platform.enabled")!.GetValue<bool>());
        Assert.Equal(
            """{"requireAuthentication":true,"unauthenticatedClientAction":"Return401","excludedPaths":["/api/health","/api/webhooks/*","/api/openapi.json","/api/docs","/api/docs/*","/api/outbound/*","/api/console/ui","/api/console/ui/*"]}""",
            ArmTemplate.Evaluate(auth, authScope, "properties.globalValidation")!.ToJsonString());
        Assert.True(ArmTemplate.Evaluate(auth, authScope, "properties.httpSettings.requireHttps")!.GetValue<bool>());
        Assert.Equal(
            $$$"""{"enabled":true,"registration":{"clientId":"{{{StaffClientId}}}","clientSecretSettingName":"MICROSOFT_PROVIDER_AUTHENTICATION_SECRET","openIdIssuer":"https://login.microsoftonline.com/tenant-1/v2.0"},"validation":{"allowedAudiences":["{{{StaffClientId}}}","api://{{{StaffClientId}}}"]}}""",
            ArmTemplate.Evaluate(auth, authScope, "properties.identityProviders.azureActiveDirectory")!.ToJsonString());
        Assert.True(ArmTemplate.Evaluate(auth, authScope, "properties.login.preserveUrlFragmentsForLogins")!.GetValue<bool>());
    }

    [Fact]
    public void The_sign_in_client_secret_is_a_key_vault_reference()
    {
        var settings = AppSettings(StaffScope());

        Assert.Equal("@Microsoft.KeyVault(SecretUri=https://kvtest.vault.azure.net/secrets/staff-signin-client-secret)", settings["MICROSOFT_PROVIDER_AUTHENTICATION_SECRET"]);
        Assert.Equal(10, settings.Count);
    }

    [Fact]
    public void The_list_continuation_key_is_a_versioned_key_vault_reference_to_the_secret_main_stores()
    {
        // Versioned: a new key changes the setting, so every instance restarts onto it together.
        Assert.Equal("@Microsoft.KeyVault(SecretUri=https://kvtest.vault.azure.net/secrets/list-continuation-key/0123abcd)", AppSettings(Scope())["Api__ContinuationTokenKey"]);
        Assert.Equal("[reference('keyVault').outputs.listContinuationKeyUri.value]",
            ArmTemplate.ModuleParameter(compiled.Template, "functionapp", "listContinuationKeyUri")!.GetValue<string>());
        Assert.Equal("[parameters('listContinuationKey')]", VaultSecret("list-continuation-key")["properties"]!["value"]!.GetValue<string>());
        var key = compiled.Template["parameters"]!["listContinuationKey"]!;
        Assert.Equal("securestring", key["type"]!.GetValue<string>());
        Assert.Equal("[base64(format('{0}{1}', newGuid(), newGuid()))]", key["defaultValue"]!.GetValue<string>());
    }

    [Fact]
    public void The_monitoring_member_key_is_a_versioned_key_vault_reference_to_the_secret_main_stores()
    {
        Assert.Equal("@Microsoft.KeyVault(SecretUri=https://kvtest.vault.azure.net/secrets/monitoring-member-key/4567cdef)", AppSettings(Scope())["Monitoring__MemberKeySecret"]);
        Assert.Equal("[reference('keyVault').outputs.monitoringMemberKeyUri.value]",
            ArmTemplate.ModuleParameter(compiled.Template, "functionapp", "monitoringMemberKeyUri")!.GetValue<string>());
        Assert.Equal("[reference(resourceId('Microsoft.KeyVault/vaults/secrets', parameters('name'), 'monitoring-member-key'), '2024-11-01').secretUriWithVersion]",
            compiled.Module("keyvault")["outputs"]!["monitoringMemberKeyUri"]!["value"]!.GetValue<string>());
        Assert.Equal("[parameters('monitoringMemberKey')]", ArmTemplate.ModuleParameter(compiled.Template, "keyvault", "monitoringMemberKey")!.GetValue<string>());
    }

    [Fact]
    public void The_monitoring_member_key_secret_is_base64_of_the_key_as_the_app_reads_it()
    {
        // The shape azd generates: 64 letters and digits. The app reads base64 of at least 32 bytes.
        const string Generated = "Q7vN2kLp9XwR4tYz8HbM3cJf6GdS1aVe5UoKiPq0TnWxEyZr7BlCu2DmFhAjgs9k";
        var scope = ModuleScope.For(compiled.Template, "keyvault", new Dictionary<string, JsonNode?>
        {
            ["name"] = "kvtest", ["location"] = "westus3", ["tags"] = new JsonObject(), ["logAnalyticsWorkspaceId"] = "log", ["listContinuationKey"] = "a2V5", ["monitoringMemberKey"] = Generated,
        });
        var (secret, secretScope) = Assert.Single(ArmTemplate.Expand(compiled.Module("keyvault"), scope, "Microsoft.KeyVault/vaults/secrets"), s => s.Resource == VaultSecret("monitoring-member-key"));

        var value = ArmTemplate.Evaluate(secret, secretScope, "properties.value")!.GetValue<string>();

        Assert.Equal("kvtest/monitoring-member-key", ArmTemplate.Evaluate(secret, secretScope, "name")!.GetValue<string>());
        Assert.Equal(System.Text.Encoding.ASCII.GetBytes(Generated), Convert.FromBase64String(value));
        Assert.Equal("base64 HMAC-SHA256 key", ArmTemplate.Evaluate(secret, secretScope, "properties.contentType")!.GetValue<string>());
    }

    [Fact]
    public void Azd_generates_the_monitoring_member_key_once_and_nothing_defaults_it()
    {
        // No default: a fresh key on every deployment would count every member again. azd generates it on the first
        // provision and passes the kept value after (infra.parameters.monitoringMemberKey); without azd it must be given.
        var key = compiled.Template["parameters"]!["monitoringMemberKey"]!;

        Assert.Equal("securestring", key["type"]!.GetValue<string>());
        Assert.Null(key["defaultValue"]);
        Assert.Equal(32, key["minLength"]!.GetValue<int>());
        Assert.Equal("""{"type":"generate","config":{"length":64,"noSpecial":true}}""", key["metadata"]!["azd"]!.ToJsonString());
    }

    [Fact]
    public void Main_passes_the_client_id_and_builds_the_issuer_from_the_cloud_and_tenant()
    {
        var main = compiled.Template["parameters"]!;

        Assert.Equal("[parameters('staffSignInClientId')]", ArmTemplate.ModuleParameter(compiled.Template, "functionapp", "staffSignInClientId")!.GetValue<string>());
        Assert.Equal(
            "[format('{0}{1}/v2.0', environment().authentication.loginEndpoint, parameters('staffSignInTenantId'))]",
            ArmTemplate.ModuleParameter(compiled.Template, "functionapp", "staffSignInIssuer")!.GetValue<string>());
        Assert.Equal("", main["staffSignInClientId"]!["defaultValue"]!.GetValue<string>());
        Assert.Equal("[tenant().tenantId]", main["staffSignInTenantId"]!["defaultValue"]!.GetValue<string>());
    }

    [Fact]
    public void No_http_function_needs_a_function_key_staff_routes_are_guarded_by_sign_in_and_roles()
    {
        var levels = Directory.GetFiles(Path.Combine(Repository.FunctionsProject, "definitions"), "function.json", SearchOption.AllDirectories)
            .SelectMany(f => JsonNode.Parse(File.ReadAllText(f))!["bindings"]!.AsArray())
            .Where(b => b!["type"]!.GetValue<string>() == "httpTrigger")
            .Select(b => b!["authLevel"]!.GetValue<string>())
            .Distinct();

        Assert.Equal(["anonymous"], levels);
    }

    private JsonObject VaultSecret(string name) => compiled.Module("keyvault")["resources"]!.AsArray().Select(r => (JsonObject)r!)
        .Single(r => r["type"]!.GetValue<string>() == "Microsoft.KeyVault/vaults/secrets" && r["name"]!.GetValue<string>() == $"[format('{{0}}/{{1}}', parameters('name'), '{name}')]");

    private ArmScope StaffScope() => Scope(new()
    {
        ["staffSignInClientId"] = StaffClientId,
        ["staffSignInIssuer"] = "https://login.microsoftonline.com/tenant-1/v2.0",
    });

    private (JsonObject Site, ArmScope Scope) Site() => Assert.Single(ArmTemplate.Expand(App, Scope(), "Microsoft.Web/sites"));

    private Dictionary<string, string> AppSettings(ArmScope scope)
    {
        var (site, _) = Site();
        return ArmTemplate.Evaluate(site, scope, "properties.siteConfig.appSettings")!.AsArray()
            .ToDictionary(s => s!["name"]!.GetValue<string>(), s => s!["value"]!.GetValue<string>(), StringComparer.Ordinal);
    }

    private ArmScope Scope(Dictionary<string, JsonNode?>? overrides = null)
    {
        var standIns = new Dictionary<string, JsonNode?>(StandIns);
        foreach (var (key, value) in overrides ?? [])
        {
            standIns[key] = value;
        }

        return ModuleScope.For(compiled.Template, "functionapp", standIns);
    }
}
