# The gateway's Azure workload identity on EKS: `trustform render values-azure.yaml.tpl -o
# values-azure.yaml` fills the placeholders from the outputs. The projected token volume asks
# the cluster for a service account token with the federated credential's audience; no secret
# is mounted.
litellm-helm:
  serviceAccount:
    create: true
    name: litellm
  envVars:
    AZURE_TENANT_ID: %%AZURE_TENANT_ID%%
    AZURE_CLIENT_ID: %%AZURE_CLIENT_ID%%
    AZURE_AUTHORITY_HOST: %%AZURE_AUTHORITY_HOST%%
    AZURE_FEDERATED_TOKEN_FILE: %%AZURE_FEDERATED_TOKEN_FILE%%
  volumes:
    - name: azure-identity-token
      projected:
        sources:
          - serviceAccountToken:
              path: azure-identity-token
              audience: '%%AZURE_TOKEN_AUDIENCE%%'
              expirationSeconds: 3600
  volumeMounts:
    - name: azure-identity-token
      mountPath: /var/run/secrets/azure/tokens
      readOnly: true
