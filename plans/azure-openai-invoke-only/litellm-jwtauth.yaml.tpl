# Seed 004's JWT auth for the gateway, from the spec's values (identity_kind = "application"):
# `trustform render litellm-jwtauth.yaml.tpl -o litellm-jwtauth.yaml`, then merge it into the
# gateway's config. The roles here are the application's app roles, so the roles in the tokens and
# the roles the gateway allows cannot drift apart.
general_settings:
  enable_jwt_auth: true
  litellm_jwtauth:
    user_roles_jwt_field: roles
    user_allowed_roles: [%%LITELLM_JWT_ALLOWED_ROLES%%]
    enforce_rbac: true
    role_permissions:
      - role: internal_user
        models: [%%LITELLM_JWT_MODELS%%]
environment_variables:
  JWT_PUBLIC_KEY_URL: %%JWT_PUBLIC_KEY_URL%%
