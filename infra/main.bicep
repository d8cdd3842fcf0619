// CalAimHub on Azure: one resource group holding a Flex Consumption function app (custom handler), its storage
// account (containers/queues/tables from functions/CalAimHub.Functions/storage-layout.json), Event Grid BlobCreated
// delivery to a storage queue, Key Vault for signing secrets, and Log Analytics + Application Insights.
// Everything authenticates with managed identities; role assignments are scoped to single resources.
// `azd up` fills the parameters from infra/main.parameters.json. See docs/deploy.md.

targetScope = 'subscription'

import { secretOwner, sftpPartner, webhookPlatform } from 'modules/types.bicep'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds unique resource names.')
param environmentName string

@minLength(1)
@description('Azure region for all resources (Flex Consumption must be available there).')
param location string

@description('Object ID of the deploying user or pipeline; gets Key Vault Secrets Officer on the vault to set signing secrets. Empty grants nothing.')
param principalId string = ''

@description('Type of principalId.')
@allowed(['User', 'ServicePrincipal', 'Group'])
param principalType string = 'User'

@description('Resource group name; empty means rg-<environmentName>.')
param resourceGroupName string = ''

@description('Flex Consumption instance memory in MB (512 = 0.25 core, 2048 = 1 core, 4096 = 2 cores).')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Maximum number of instances the app scales out to (1-1000).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Notification subscribers; each gets Key Vault referenced Notifications__Subscribers__<id>__Secrets__<n> settings.')
param notificationSubscribers secretOwner[] = []

@description('Webhook platforms; each gets Key Vault referenced Webhooks__Platforms__<id>__Secrets__<n> settings.')
param webhookPlatforms webhookPlatform[] = []

@description('Partner ids that get their own upload identity, restricted to inbound/<partnerId>/ (ABAC).')
param partnerIds string[] = []

@description('Deploy the SFTP exchange account (hierarchical namespace, separate from the main account: see docs/deploy.md).')
param enableSftp bool = false

@description('Partners with an SFTP local user on the exchange account (SSH keys only), when enableSftp.')
param sftpPartners sftpPartner[] = []

@description('Days deleted blobs and containers can be restored.')
@minValue(1)
@maxValue(365)
param blobSoftDeleteRetentionDays int = 30

@secure()
@description('HMAC key that signs list continuation tokens (Api__ContinuationTokenKey). Fresh on every deployment unless given: a page token issued before a deployment then answers 400 "start again without it", which every list route handles.')
param listContinuationKey string = base64('${newGuid()}${newGuid()}')

// Unlike the continuation key this key must not change between deployments (a new key counts every member again until the
// read models are rebuilt), so no newGuid() default: azd generates it on the first provision and keeps it in the
// environment's config (infra.parameters.monitoringMemberKey), and every later provision passes the same value.
@secure()
@minLength(32)
@metadata({
  azd: {
    type: 'generate'
    config: {
      length: 64
      noSpecial: true
    }
  }
})
@description('Key the monitoring extract counts members by (Monitoring__MemberKeySecret): a random string of at least 32 characters, stored base64-encoded as secret monitoring-member-key. Keep it across deployments; azd generates it once. Without azd, pass your own (docs/deploy.md).')
param monitoringMemberKey string

@description('Application (client) id of the Entra app registration staff sign in with (docs/deploy.md, "Staff sign-in"). Empty: no App Service authentication; staff routes answer 401.')
param staffSignInClientId string = ''

@description('Tenant staff sign in from (default: the deployment\'s tenant).')
param staffSignInTenantId string = tenant().tenantId

@description('Schema of the BlobCreated events written to the blob-created queue.')
@allowed(['EventGridSchema', 'CloudEventSchemaV1_0'])
param blobEventSchema string = 'EventGridSchema'

// Must equal the service name in azure.yaml: azd finds the app by its azd-service-name tag.
var serviceName = 'hub'
var tags = {
  'azd-env-name': environmentName
  application: 'calaimhub'
}
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var functionAppName = 'func-calaimhub-${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'
var identityName = 'id-calaimhub-${resourceToken}'
var storageAccountName = 'st${resourceToken}'
var exchangeAccountName = 'stx${take(resourceToken, 21)}'
// Known before the exchange account exists (its name is derived), so the app needs no dependency on the optional module.
var exchangeBlobEndpoint = enableSftp ? 'https://${exchangeAccountName}.blob.${environment().suffixes.storage}/' : ''
var keyVaultName = 'kv-${resourceToken}'
var logAnalyticsName = 'log-calaimhub-${resourceToken}'
var applicationInsightsName = 'appi-calaimhub-${resourceToken}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: identityName
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: logAnalyticsName
    applicationInsightsName: applicationInsightsName
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: storageAccountName
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    softDeleteRetentionDays: blobSoftDeleteRetentionDays
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsId
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: keyVaultName
    location: location
    tags: tags
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsId
    listContinuationKey: listContinuationKey
    monitoringMemberKey: monitoringMemberKey
  }
}

module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  dependsOn: [
    identity
    storage
    keyVault
    monitoring
  ]
  params: {
    storageAccountName: storageAccountName
    keyVaultName: keyVaultName
    applicationInsightsName: applicationInsightsName
    appIdentityName: identityName
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  dependsOn: [
    // The app reads storage, Key Vault references and App Insights as its identity from the first start.
    rbac
  ]
  params: {
    name: functionAppName
    planName: 'plan-calaimhub-${resourceToken}'
    location: location
    tags: tags
    serviceName: serviceName
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    storageTableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    keyVaultUri: keyVault.outputs.uri
    listContinuationKeyUri: keyVault.outputs.listContinuationKeyUri
    monitoringMemberKeyUri: keyVault.outputs.monitoringMemberKeyUri
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsId
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    notificationSubscribers: notificationSubscribers
    webhookPlatforms: webhookPlatforms
    staffSignInClientId: staffSignInClientId
    exchangeBlobEndpoint: exchangeBlobEndpoint
    staffSignInIssuer: '${environment().authentication.loginEndpoint}${staffSignInTenantId}/v2.0'
  }
}

module eventGrid 'modules/eventgrid.bicep' = {
  name: 'eventgrid'
  scope: rg
  dependsOn: [
    storage
  ]
  params: {
    systemTopicName: 'evgt-calaimhub-${resourceToken}'
    location: location
    tags: tags
    storageAccountName: storageAccountName
    sourceContainerName: 'inbound'
    queueName: 'blob-created'
    deadLetterContainerName: 'eventgrid-deadletter'
    eventDeliverySchema: blobEventSchema
  }
}

module partners 'modules/partners.bicep' = {
  name: 'partners'
  scope: rg
  dependsOn: [
    storage
  ]
  params: {
    partnerIds: partnerIds
    location: location
    tags: tags
    storageAccountName: storageAccountName
    containerName: 'inbound'
    resourceToken: resourceToken
  }
}

module sftp 'modules/sftp.bicep' = if (enableSftp) {
  name: 'sftp'
  scope: rg
  dependsOn: [
    storage
    identity
  ]
  params: {
    name: exchangeAccountName
    location: location
    tags: tags
    partners: sftpPartners
    mainStorageAccountName: storageAccountName
    appIdentityName: identityName
    softDeleteRetentionDays: blobSoftDeleteRetentionDays
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = functionApp.outputs.url
output SERVICE_HUB_NAME string = functionApp.outputs.name
output SERVICE_HUB_URI string = functionApp.outputs.url
output AZURE_FUNCTION_APP_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_STORAGE_QUEUE_ENDPOINT string = storage.outputs.queueEndpoint
output AZURE_STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_URI string = keyVault.outputs.uri
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AZURE_LOG_ANALYTICS_WORKSPACE_NAME string = monitoring.outputs.logAnalyticsName
output AZURE_EVENTGRID_SYSTEM_TOPIC_NAME string = eventGrid.outputs.systemTopicName
output AZURE_PARTNER_IDENTITIES array = partners.outputs.partners
