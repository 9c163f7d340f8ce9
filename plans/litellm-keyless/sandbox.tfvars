# What exists in the emulated world of `trustform --sandbox` (see the README's sandbox section).
cluster_name          = "litellm"
gcp_project           = "litellm-prod"
azure_subscription_id = "24ebb700-ec2f-417f-afad-78fe15dcc91f"
azure_resource_group  = "litellm-openai"
azure_client_id       = "91a43c21-cf21-4f34-9085-331015ea4f91"
azure_principal_id    = "5b0cf6a1-3d4e-4f2a-9c8b-7e6d5c4b3a21"
circleci_org_id       = "c5a99188-154f-4f69-8da2-b442b1bf78dd"
