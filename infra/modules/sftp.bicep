// SFTP for partners without blob tooling (optional: main.bicep deploys this only with enableSftp). SFTP needs a
// hierarchical namespace, and a hierarchical namespace does not support blob versioning or the change feed (Blob
// Storage feature support table, docs/deploy.md), which the main account uses; so SFTP gets a separate exchange account.
// Isolation without ACLs: SFTP permission scopes are per container, so each partner gets its own two containers
// (ExchangeContainers in the code): 'in-<id>' (create/write/list; the user's home directory) and 'out-<id>' (read/list).
// A local user scoped to those two can reach no other partner's files. BlobCreated events from every 'in-' container go
// to the main account's 'blob-created' queue; the hub copies each file to inbound/<id>/<kind>/<file> on the main account
// and ingests it from there. The generator copies each outbound file to 'out-<id>'. The app's identity may read the 'in-'
// containers and write the 'out-' containers, nothing else on this account.
import { sftpPartner } from 'types.bicep'

@description('Exchange storage account name.')
param name string

@description('Azure region.')
param location string

@description('Tags.')
param tags object

@description('Partners with an SFTP local user.')
param partners sftpPartner[]

@description('The main storage account: its blob-created queue receives the exchange account\'s events.')
param mainStorageAccountName string

@description('Queue on the main account that receives BlobCreated events.')
param queueName string = 'blob-created'

@description('Container on the main account that receives events Event Grid could not deliver.')
param deadLetterContainerName string = 'eventgrid-deadletter'

@description('The app\'s user-assigned identity (this resource group): reads the partners\' in- containers, writes their out- containers.')
param appIdentityName string

@description('Days deleted blobs and containers can be restored (soft delete is supported with a hierarchical namespace).')
param softDeleteRetentionDays int = 30

var roles = {
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
}

resource main 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: mainStorageAccountName

  resource blobService 'blobServices' existing = {
    name: 'default'

    resource deadLetterContainer 'containers' existing = {
      name: deadLetterContainerName
    }
  }
}

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: appIdentityName
}

resource exchange 'Microsoft.Storage/storageAccounts@2024-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    isHnsEnabled: true
    isSftpEnabled: true
    isLocalUserEnabled: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2024-01-01' = {
  parent: exchange
  name: 'default'
  properties: {
    // No versioning and no change feed: not supported with a hierarchical namespace.
    deleteRetentionPolicy: {
      enabled: true
      days: softDeleteRetentionDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: softDeleteRetentionDays
    }
  }
}

// The container rule (ExchangeContainers.Inbound/Outbound): 'in-' or 'out-' + the partner id (3-59 lowercase letters and digits).
resource inboundContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = [for partner in partners: {
  parent: blobService
  name: 'in-${partner.id}'
  properties: {
    publicAccess: 'None'
  }
}]

resource outboundContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = [for partner in partners: {
  parent: blobService
  name: 'out-${partner.id}'
  properties: {
    publicAccess: 'None'
  }
}]

resource localUsers 'Microsoft.Storage/storageAccounts/localUsers@2024-01-01' = [for (partner, i) in partners: {
  parent: exchange
  name: partner.id
  dependsOn: [
    inboundContainers[i]
    outboundContainers[i]
  ]
  properties: {
    hasSshPassword: false
    hasSshKey: true
    hasSharedKey: false
    homeDirectory: 'in-${partner.id}'
    permissionScopes: [
      {
        service: 'blob'
        resourceName: 'in-${partner.id}'
        permissions: 'cwl'
      }
      {
        service: 'blob'
        resourceName: 'out-${partner.id}'
        permissions: 'rl'
      }
    ]
    sshAuthorizedKeys: partner.publicKeys
  }
}]

resource appReadsInbound 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (partner, i) in partners: {
  name: guid(inboundContainers[i].id, appIdentity.id, roles.storageBlobDataReader)
  scope: inboundContainers[i]
  properties: {
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataReader)
  }
}]

resource appWritesOutbound 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (partner, i) in partners: {
  name: guid(outboundContainers[i].id, appIdentity.id, roles.storageBlobDataContributor)
  scope: outboundContainers[i]
  properties: {
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}]

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: 'evgt-${name}'
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: exchange.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource queueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(main.id, systemTopic.id, roles.storageQueueDataMessageSender)
  scope: main
  properties: {
    principalId: systemTopic.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataMessageSender)
  }
}

resource deadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(main::blobService::deadLetterContainer.id, systemTopic.id, roles.storageBlobDataContributor)
  scope: main::blobService::deadLetterContainer
  properties: {
    principalId: systemTopic.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

resource blobCreated 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: systemTopic
  name: 'exchange-inbound-blob-created'
  dependsOn: [
    queueSender
    deadLetterWriter
  ]
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      // Every partner's 'in-' container (a string prefix); the 'out-' containers raise nothing.
      subjectBeginsWith: '/blobServices/default/containers/in-'
    }
    deliveryWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      destination: {
        endpointType: 'StorageQueue'
        properties: {
          resourceId: main.id
          queueName: queueName
          queueMessageTimeToLiveInSeconds: 604800
        }
      }
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: main.id
          blobContainerName: deadLetterContainerName
        }
      }
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}

output exchangeAccountName string = exchange.name
output blobEndpoint string = exchange.properties.primaryEndpoints.blob
output localUserNames string[] = [for (partner, i) in partners: localUsers[i].name]
