# Where the master key is and who may read it: never the key itself (TF1320 checks it).

output "LITELLM_MASTER_KEY_VAULT_PATH" {
  value = vault_kv_secret_v2.gateway.path
}

output "VAULT_KUBERNETES_ROLE" {
  value = vault_kubernetes_auth_backend_role.external_secrets.role_name
}

output "VAULT_KUBERNETES_AUTH_PATH" {
  value = vault_auth_backend.kubernetes.path
}
