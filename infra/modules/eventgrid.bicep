// BlobCreated events for the 'inbound' container, delivered by Event Grid straight to the 'blob-created' storage queue.
// The system topic authenticates with its own system-assigned identity (no keys, no function key, no webhook):
//   Storage Queue Data Message Sender on the storage account -> deliver to the queue
//   Storage Blob Data Contributor on the dead-letter container only -> write undeliverable events there

@description('System topic name.')
param systemTopicName string

@description('Azure region (the storage account\'s).')
param location string

@description('Tags for the topic.')
param tags object

@description('Storage account name (the event source and the destination).')
param storageAccountName string

@description('Container whose new blobs raise events.')
param sourceContainerName string

@description('Queue that receives the events.')
param queueName string

@description('Container that receives events Event Grid could not deliver.')
param deadLetterContainerName string

@description('Event schema written to the queue.')
@allowed(['EventGridSchema', 'CloudEventSchemaV1_0'])
param eventDeliverySchema string = 'EventGridSchema'

var roles = {
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
}

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: storageAccountName

  resource blobService 'blobServices' existing = {
    name: 'default'

    resource deadLetterContainer 'containers' existing = {
      name: deadLetterContainerName
    }
  }
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: systemTopicName
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource queueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, systemTopic.id, roles.storageQueueDataMessageSender)
  scope: storage
  properties: {
    principalId: systemTopic.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataMessageSender)
  }
}

resource deadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage::blobService::deadLetterContainer.id, systemTopic.id, roles.storageBlobDataContributor)
  scope: storage::blobService::deadLetterContainer
  properties: {
    principalId: systemTopic.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

resource blobCreated 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: systemTopic
  name: 'inbound-blob-created'
  dependsOn: [
    queueSender
    deadLetterWriter
  ]
  properties: {
    eventDeliverySchema: eventDeliverySchema
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${sourceContainerName}/'
    }
    deliveryWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      destination: {
        endpointType: 'StorageQueue'
        properties: {
          resourceId: storage.id
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
          resourceId: storage.id
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

output systemTopicName string = systemTopic.name
output systemTopicPrincipalId string = systemTopic.identity.principalId
output subscriptionName string = blobCreated.name
