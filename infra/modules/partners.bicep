// Optional per-partner upload identities. Each partner id gets a user-assigned managed identity (usable from the
// partner's Azure workload via a federated credential) and ONE role assignment: Storage Blob Data Contributor on the
// 'inbound' container, narrowed by an ABAC condition so reads, writes and deletes succeed only for blobs under
// 'inbound/<partnerId>/' and listing only with the prefix '<partnerId>/'. A partner cannot see or touch another's files.

@description('Partner ids: lowercase letters, digits and hyphens; each is also the blob prefix inside the container.')
param partnerIds string[]

@description('Azure region.')
param location string

@description('Tags for the identities.')
param tags object

@description('Storage account name.')
param storageAccountName string

@description('Container partners upload to.')
param containerName string

@description('Token that makes identity names unique per environment.')
param resourceToken string

var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: storageAccountName

  resource blobService 'blobServices' existing = {
    name: 'default'

    resource container 'containers' existing = {
      name: containerName
    }
  }
}

resource identities 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = [
  for partnerId in partnerIds: {
    name: 'id-partner-${partnerId}-${resourceToken}'
    location: location
    tags: union(tags, { 'calaimhub-partner-id': partnerId })
  }
]

resource uploadRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (partnerId, i) in partnerIds: {
    name: guid(storage::blobService::container.id, partnerId, storageBlobDataContributor)
    scope: storage::blobService::container
    properties: {
      principalId: identities[i].properties.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
      description: 'Partner ${partnerId}: blobs under ${containerName}/${partnerId}/ only'
      conditionVersion: '2.0'
      condition: '((!(ActionMatches{\'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read\'} AND NOT SubOperationMatches{\'Blob.List\'}) AND !(ActionMatches{\'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write\'}) AND !(ActionMatches{\'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action\'}) AND !(ActionMatches{\'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete\'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals \'${containerName}\' AND @Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringStartsWith \'${partnerId}/\')) AND ((!(ActionMatches{\'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read\'} AND SubOperationMatches{\'Blob.List\'})) OR (@Request[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:prefix] StringStartsWith \'${partnerId}/\'))'
    }
  }
]

output partners array = [
  for (partnerId, i) in partnerIds: {
    partnerId: partnerId
    identityName: identities[i].name
    clientId: identities[i].properties.clientId
    principalId: identities[i].properties.principalId
    blobPrefix: '${containerName}/${partnerId}/'
  }
]
