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

@export()
@description('A referral platform that calls POST /api/webhooks/{id}, its active Key Vault secrets and its payload format.')
type webhookPlatform = {
  @description('Platform id: lowercase letters and digits only (it becomes part of the URL, app setting and Key Vault secret names).')
  @minLength(1)
  @maxLength(40)
  id: string

  @description('Names of the Key Vault secrets that are active for this platform, in order: entry n becomes __Secrets__n. Defaults to webhook-<id>. List two during a rotation.')
  secretNames: string[]?

  @description('Payload format: our generic referral JSON (default) or FHIR R4 ServiceRequest/Task.')
  format: ('generic' | 'fhir')?
}

@export()
@description('A partner that exchanges files over SFTP: one local user on the exchange account, SSH keys only.')
type sftpPartner = {
  @description('Partner id (its SFTP user and the exchange account\'s in-<id> and out-<id> containers): lowercase letters and digits, as SFTP user names allow; at most 59, so out-<id> fits a container name\'s 63.')
  @minLength(3)
  @maxLength(59)
  id: string

  @description('The partner\'s SSH public keys; at least one.')
  @minLength(1)
  publicKeys: sftpKey[]
}

@export()
@description('An SSH public key of an SFTP partner.')
type sftpKey = {
  @description('What the key is (e.g. "acme ops laptop 2026").')
  description: string

  @description('The public key, e.g. "ssh-ed25519 AAAA...".')
  key: string
}
