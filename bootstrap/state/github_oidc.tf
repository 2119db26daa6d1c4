# GitHub's OpenID Connect identity provider: deploy.yml's jobs trade GitHub's signed token for
# the short-lived credentials of a host's CI role (terraform/modules/host/ci_access.tf), so no AWS
# key is stored in GitHub. IAM is global and AWS takes one provider per URL per account, so it
# lives here, applied once per account, and not in the host module, applied once per region.

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 1 : 0

  url = "https://token.actions.githubusercontent.com"
  # The audience aws-actions/configure-aws-credentials asks GitHub for.
  client_id_list = ["sts.amazonaws.com"]
  # AWS checks this provider's certificate against its own trusted CAs and does not use these
  # (since July 2023); they are GitHub's two published intermediate thumbprints, given because
  # older releases of the AWS provider that versions.tf allows require the argument.
  thumbprint_list = [
    "6938fd4d98bab03faadb97b34396831e3780aea1",
    "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
  ]
}
