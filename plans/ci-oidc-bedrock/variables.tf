variable "aws_region" {
  description = "The region the pipelines call Bedrock in (litellm's aws_region_name)."
  default     = "us-west-2"
}

variable "circleci_org_id" {
  description = "The CircleCI organisation id: it names the OIDC issuer (oidc.circleci.com/org/ID) and is the tokens' audience."
}

variable "circleci_vcs_origin" {
  description = "The repository CircleCI builds, as its tokens' sub spells it."
  default     = "github.com/BerriAI/litellm"
}

variable "circleci_branches" {
  description = "Branch patterns (StringLike) whose pipelines may assume the role."
  type        = list(string)
  default     = ["main", "litellm_*"]
}

variable "github_repository" {
  description = "OWNER/REPO of the GitHub Actions workflows that may assume their role."
}

variable "github_branches" {
  description = "Branch patterns (StringLike) whose workflows may assume the role."
  type        = list(string)
  default     = ["main"]
}

variable "bedrock_model_arns" {
  description = "The foundation models the pipelines may invoke."
  type        = list(string)
  default = [
    "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
    "arn:aws:bedrock:*::foundation-model/cohere.command-r-v1:0",
  ]
}
