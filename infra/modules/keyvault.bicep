// Key Vault for webhook intake and notification signing secrets (Standard Webhooks whsec_...).
// RBAC only (no access policies), soft delete + purge protection. The function app reads secrets through
// Key Vault references resolved with its user-assigned identity (Key Vault Secrets User, see rbac.bicep).

@description('Key Vault name (3-24 characters).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags for the vault.')
param tags object

@description('Days a deleted vault or secret can be recovered (7-90).')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

@description('Resource ID of the Log Analytics workspace that receives the vault audit log.')
param logAnalyticsWorkspaceId string

@secure()
@description('HMAC key that signs list continuation tokens (base64 of at least 32 bytes), stored as secret list-continuation-key.')
param listContinuationKey string

@secure()
@minLength(32)
@description('Key the monitoring extract counts members by: a random string of at least 32 characters (azd generates one), stored base64-encoded as secret monitoring-member-key.')
param monitoringMemberKey string

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource vaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'vault-audit'
  scope: vault
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      { categoryGroup: 'audit', enabled: true }
    ]
  }
}

resource listContinuationSecret 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = {
  parent: vault
  name: 'list-continuation-key'
  properties: {
    value: listContinuationKey
    contentType: 'base64 HMAC-SHA256 key'
  }
}

resource monitoringMemberKeySecret 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = {
  parent: vault
  name: 'monitoring-member-key'
  properties: {
    // The app reads base64 of at least 32 bytes: the key's 32+ characters encode to at least as many bytes, whatever they are.
    value: base64(monitoringMemberKey)
    contentType: 'base64 HMAC-SHA256 key'
  }
}

output id string = vault.id
// With its version: the app setting changes whenever the key does, so every instance restarts onto the same key
// (an unversioned reference is re-read per instance within 24 h, and instances would refuse each other's tokens).
output listContinuationKeyUri string = listContinuationSecret.properties.secretUriWithVersion
output monitoringMemberKeyUri string = monitoringMemberKeySecret.properties.secretUriWithVersion
output name string = vault.name
output uri string = vault.properties.vaultUri
