# Seed 002's subscription is the sandbox's; the application ids are examples the sandbox takes.
subscription_id = "24ebb700-ec2f-417f-afad-78fe15dcc91f"
resource_group  = "litellm-openai"
client_id       = "91a43c21-cf21-4f34-9085-331015ea4f91"
principal_id    = "5b0cf6a1-3d4e-4f2a-9c8b-7e6d5c4b3a21"
