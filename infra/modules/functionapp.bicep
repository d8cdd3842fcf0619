// Flex Consumption plan + the hub function app (Azure Functions custom handler, runtime 'custom' 1.0).
// The app package is the self-contained linux-x64 publish output of functions/CalAimHub.Functions; azd uploads it
// to the deployment container, which the platform reads with the user-assigned identity.

import { secretOwner, webhookPlatform } from 'types.bicep'

@description('Function app name.')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Azure region.')
param location string

@description('Tags for both resources.')
param tags object

@description('azd service name from azure.yaml; azd finds the deploy target by the azd-service-name tag.')
param serviceName string

@description('Resource ID of the user-assigned identity the app runs as.')
param identityId string

@description('Client ID of the user-assigned identity the app runs as.')
param identityClientId string

@description('Storage account blob endpoint (https://<account>.blob.core.windows.net/).')
param storageBlobEndpoint string

@description('Storage account queue endpoint.')
param storageQueueEndpoint string

@description('Storage account table endpoint.')
param storageTableEndpoint string

@description('Blob container holding the deployment package.')
param deploymentContainerName string

@description('Application Insights connection string (not a secret: ingestion requires Entra auth, local auth is disabled).')
param applicationInsightsConnectionString string

@description('Key Vault URI (https://<vault>.vault.azure.net/).')
param keyVaultUri string

@description('Versioned Key Vault secret URI of the list continuation token key.')
param listContinuationKeyUri string

@description('Versioned Key Vault secret URI of the key the monitoring extract counts members by.')
param monitoringMemberKeyUri string

@description('Resource ID of the Log Analytics workspace that receives FunctionAppLogs.')
param logAnalyticsWorkspaceId string

@description('Memory per instance in MB: 512, 2048 or 4096.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int

@description('Upper bound of instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Subscribers that receive signed notifications; each gets Notifications__Subscribers__<id>__Secrets__<n> Key Vault references.')
param notificationSubscribers secretOwner[]

@description('Webhook platforms whose deliveries the hub accepts; each gets Webhooks__Platforms__<id>__Secrets__<n> Key Vault references.')
param webhookPlatforms webhookPlatform[]

@description('Application (client) id of the Entra app registration staff sign in with (docs/deploy.md, "Staff sign-in"). Empty: App Service authentication stays off and every staff route answers 401.')
param staffSignInClientId string = ''

@description('OpenID issuer of the tenant staff sign in from, <login endpoint><tenant id>/v2.0 (main.bicep builds it from the tenant id).')
param staffSignInIssuer string = ''

@description('Key Vault secret holding the app registration\'s client secret, which the sign-in code flow redeems codes with.')
param staffSignInSecretName string = 'staff-signin-client-secret'

@description('Blob endpoint of the SFTP exchange account (enableSftp), or empty: the app reads partners\' in- containers and writes their out- containers there.')
param exchangeBlobEndpoint string = ''

var staffSignIn = !empty(staffSignInClientId)

var exchangeSettings = empty(exchangeBlobEndpoint) ? [] : [
  { name: 'Exchange__BlobServiceUri', value: exchangeBlobEndpoint }
]

// The one setting App Service authentication reads the client secret from; a Key Vault reference like every other secret.
var staffSignInSettings = staffSignIn
  ? [
      {
        name: 'MICROSOFT_PROVIDER_AUTHENTICATION_SECRET'
        value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${staffSignInSecretName})'
      }
    ]
  : []

var notificationSecretSettings = flatten(map(
  notificationSubscribers,
  s => map(s.?secretNames ?? ['notify-${s.id}'], (secretName, i) => {
    name: 'Notifications__Subscribers__${s.id}__Secrets__${i}'
    value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${secretName})'
  })
))

var webhookSecretSettings = flatten(map(
  webhookPlatforms,
  p => map(p.?secretNames ?? ['webhook-${p.id}'], (secretName, i) => {
    name: 'Webhooks__Platforms__${p.id}__Secrets__${i}'
    value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${secretName})'
  })
))

// Only FHIR platforms need the setting: generic JSON is the default format.
var webhookFormatSettings = map(filter(webhookPlatforms, p => p.?format == 'fhir'), p => {
  name: 'Webhooks__Platforms__${p.id}__Format'
  value: 'fhir'
})

// Identity-based host storage: no AzureWebJobsStorage connection string and no account key anywhere.
var baseSettings = [
  { name: 'AzureWebJobsStorage__blobServiceUri', value: storageBlobEndpoint }
  { name: 'AzureWebJobsStorage__queueServiceUri', value: storageQueueEndpoint }
  { name: 'AzureWebJobsStorage__tableServiceUri', value: storageTableEndpoint }
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: applicationInsightsConnectionString }
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
  { name: 'Api__ContinuationTokenKey', value: '@Microsoft.KeyVault(SecretUri=${listContinuationKeyUri})' }
  { name: 'Monitoring__MemberKeySecret', value: '@Microsoft.KeyVault(SecretUri=${monitoringMemberKeyUri})' }
]

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-11-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    keyVaultReferenceIdentity: identityId
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      remoteDebuggingEnabled: false
      appSettings: concat(baseSettings, exchangeSettings, notificationSecretSettings, webhookSecretSettings, webhookFormatSettings, staffSignInSettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'custom'
        version: '1.0'
      }
    }
  }
}

// azd deploys with a Microsoft Entra token (OneDeploy); publishing with basic-auth credentials stays off.
resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

// Staff sign-in (App Service authentication, "Easy Auth") with Microsoft Entra ID. Every request needs a signed-in user
// except the anonymous routes: health, the signed partner webhooks, the API contract, the providers' file fetch (its own
// API key, checked by the app; the staff route beside it, generate, still needs the operator role in the app) and the
// console's page shell and assets (no data: the page asks /api/console/me and shows "Sign in" on its 401, which leads
// to /.auth/login/aad and back). Unauthenticated API calls get 401 (no redirect: the console's scripts and API clients
// read the status). Authentication strips any client-sent
// X-MS-CLIENT-PRINCIPAL* header and sets its own; the app checks the app roles (viewer, decider, operator) in it.
resource staffAuth 'Microsoft.Web/sites/config@2024-11-01' = if (staffSignIn) {
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      excludedPaths: [
        '/api/health'
        '/api/webhooks/*'
        '/api/openapi.json'
        '/api/docs'
        '/api/docs/*'
        '/api/outbound/*'
        '/api/console/ui'
        '/api/console/ui/*'
      ]
    }
    httpSettings: {
      requireHttps: true
      forwardProxy: {
        convention: 'NoProxy'
      }
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: staffSignInClientId
          clientSecretSettingName: 'MICROSOFT_PROVIDER_AUTHENTICATION_SECRET'
          openIdIssuer: staffSignInIssuer
        }
        validation: {
          // Tokens for this app only: its client id (browser sign-in) or its Application ID URI (API clients).
          allowedAudiences: [
            staffSignInClientId
            'api://${staffSignInClientId}'
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: true
      }
      preserveUrlFragmentsForLogins: true // the console's hash routes (#/authorizations/…) survive the sign-in redirect
    }
  }
}

resource siteDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'function-app-logs'
  scope: site
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      { category: 'FunctionAppLogs', enabled: true }
    ]
  }
}

output id string = site.id
output name string = site.name
output defaultHostName string = site.properties.defaultHostName
output url string = 'https://${site.properties.defaultHostName}'
