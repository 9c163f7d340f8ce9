# What exists in the emulated world of `trustform --sandbox`. Real runs take their values from
# trustform.tfvars (see trustform.tfvars.example), --var-file or --var.
gcp_project  = "litellm-prod"
cluster_name = "litellm"
