# Seed 002's organisation and repository; the sandbox takes any.
circleci_org_id   = "c5a99188-154f-4f69-8da2-b442b1bf78dd"
github_repository = "BerriAI/litellm"
