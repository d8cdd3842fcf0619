// Shared parameter types.

@export()
@description('A notification subscriber or webhook platform and the Key Vault secrets that are active for it.')
type secretOwner = {
  @description('Subscriber or platform id: lowercase letters, digits and hyphens (it becomes part of app setting and Key Vault secret names).')
  @minLength(1)
  @maxLength(60)
  id: string

  @description('Names of the Key Vault secrets that are active for this id, in order: entry n becomes __Secrets__n. Defaults to one secret named <prefix>-<id>. List two during a rotation.')
  secretNames: string[]?
}
