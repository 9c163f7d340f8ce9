# Seed 002's subscription and the shipped world's EKS cluster are the sandbox's.
subscription_id   = "24ebb700-ec2f-417f-afad-78fe15dcc91f"
resource_group    = "litellm-openai"
cluster_name      = "litellm"
github_repository = "BerriAI/litellm"
