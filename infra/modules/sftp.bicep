// SFTP for partners without blob tooling (optional: main.bicep deploys this only with enableSftp). SFTP needs a
// hierarchical namespace, and a hierarchical namespace does not support blob versioning or the change feed (Blob
// Storage feature support table, docs/deploy.md), which the main account uses; so SFTP gets a separate exchange account
// with the same 'inbound' and 'outbound' containers. Its BlobCreated events under inbound/ go to the main account's
// 'blob-created' queue, the same queue the main account's events feed, so ingestion does not care where a file landed.
// One local user per partner, SSH keys only: create/write/list on 'inbound' (home directory inbound/<id>) and read/list
// on 'outbound'. Permission scopes are per container; confining a user to its own <id>/ folders takes ACL authorization
// (POSIX ACLs on the folders, a data-plane step): docs/deploy.md says how, and why not to enable two partners before it.
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

@description('Days deleted blobs and containers can be restored (soft delete is supported with a hierarchical namespace).')
param softDeleteRetentionDays int = 30

var roles = {
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
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

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = [for container in ['inbound', 'outbound']: {
  parent: blobService
  name: container
  properties: {
    publicAccess: 'None'
  }
}]

resource localUsers 'Microsoft.Storage/storageAccounts/localUsers@2024-01-01' = [for partner in partners: {
  parent: exchange
  name: partner.id
  dependsOn: [
    containers
  ]
  properties: {
    hasSshPassword: false
    hasSshKey: true
    hasSharedKey: false
    homeDirectory: 'inbound/${partner.id}'
    permissionScopes: [
      {
        service: 'blob'
        resourceName: 'inbound'
        permissions: 'cwl'
      }
      {
        service: 'blob'
        resourceName: 'outbound'
        permissions: 'rl'
      }
    ]
    sshAuthorizedKeys: partner.publicKeys
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
      subjectBeginsWith: '/blobServices/default/containers/inbound/'
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
output localUserNames string[] = [for (partner, i) in partners: localUsers[i].name]
