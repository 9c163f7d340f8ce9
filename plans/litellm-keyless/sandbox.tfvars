# What exists in the emulated world of `trustform --sandbox` (see the README's sandbox section).
cluster_name          = "litellm"
gcp_project           = "litellm-prod"
azure_subscription_id = "24ebb700-ec2f-417f-afad-78fe15dcc91f"
azure_resource_group  = "litellm-openai"
circleci_org_id       = "c5a99188-154f-4f69-8da2-b442b1bf78dd"
