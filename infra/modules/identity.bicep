// The hub's user-assigned managed identity: storage (AzureWebJobsStorage__*), the deployment package container,
// Key Vault references and Application Insights all authenticate as this identity. No keys, no connection strings.

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region.')
param location string

@description('Tags for the identity.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
