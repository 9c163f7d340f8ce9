variable "subscription_id" {
  description = "The subscription holding the Azure OpenAI resource."
}

variable "resource_group" {
  description = "The resource group of the Azure OpenAI resource: the role is assignable there and nowhere else."
}

variable "client_id" {
  description = "The application (client) id of the Entra ID app the gateway authenticates as (AZURE_CLIENT_ID)."
}

variable "principal_id" {
  description = "The object id of that application's service principal, which receives the role."
}

variable "role_name" {
  default = "invoke-only"
}
