# Seed 000's litellm/values-aws.yaml: `trustform render values-aws.yaml.tpl -o values-aws.yaml`
# fills the placeholders from the outputs.
litellm-helm:
  serviceAccount:
    create: true
    name: litellm
    annotations:
      eks.amazonaws.com/role-arn: '%%EKS_AWS_ROLE_ARN%%'
  envVars:
    AWS_REGION_NAME: %%AWS_REGION_NAME%%
    VERTEX_PROJECT: "%%VERTEX_PROJECT%%"
    VERTEX_LOCATION: %%VERTEX_LOCATION%%
    AZURE_TENANT_ID: %%AZURE_TENANT_ID%%
    AZURE_CLIENT_ID: %%AZURE_CLIENT_ID%%
    GOOGLE_APPLICATION_CREDENTIALS: /etc/litellm/gcp/gcp_aws_external_account.json
