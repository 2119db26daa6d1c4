# CI's way to sshd. Port 22 admits only allowed_ssh_cidrs; a deploy job of this repository's
# deploy.yml assumes the role below with GitHub's OIDC token (no AWS key is stored in GitHub),
# adds a rule for its runner's own address to this host's security group for the length of the
# job, and removes it at the end (scripts/ci/ssh-ingress). docs/ci.md, "How a runner reaches
# sshd", says what the operator sets once and what each run does.

# Created once per account by bootstrap/state (IAM is global; one provider per URL). Planning
# fails here, before anything is created, when it does not exist yet.
data "aws_iam_openid_connect_provider" "github" {
  url = "https://token.actions.githubusercontent.com"
}

# Only the workflows of config.json's repository, and only on a tag: a branch, a pull request or
# another repository gets no credentials. GitHub writes the token's `sub` as
# repo:<owner>/<name>:ref:refs/tags/<tag> for a tag push (and for a run started by hand on a tag);
# the comparison is case-sensitive.
data "aws_iam_policy_document" "ci_assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [data.aws_iam_openid_connect_provider.github.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringLike"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:${var.github_repository}:ref:refs/tags/*"]
    }
  }
}

resource "aws_iam_role" "ci" {
  name               = "${local.iam_prefix}-ci"
  description        = "kelev host ${var.name}: tags of ${var.github_repository} open port 22 to their GitHub runner for one job"
  assume_role_policy = data.aws_iam_policy_document.ci_assume.json
  # A deploy job may run 60 minutes and closes the port at its end: deploy.yml asks for 75.
  max_session_duration = 7200
}

# Rules of this host's security group, and nothing else: no other group, no instance, no IAM.
data "aws_iam_policy_document" "ci" {
  statement {
    sid     = "OpenAndClosePort22OfThisHost"
    actions = ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"]
    # The group is the resource these calls require, and it is what limits the role. A call
    # that names or tags single rules is authorized on the rules too, whose ids nobody knows
    # ahead: they are allowed in this account and region, and exist only inside some group.
    resources = [
      aws_security_group.host.arn,
      "arn:${data.aws_partition.current.partition}:ec2:${var.region}:${aws_security_group.host.owner_id}:security-group-rule/*",
    ]
  }

  statement {
    sid = "ListTheRules"
    # Describe calls take no resource but "*": the role can read every group's rules in the
    # account (not change them).
    actions   = ["ec2:DescribeSecurityGroupRules"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "ci" {
  name   = "ssh-ingress"
  role   = aws_iam_role.ci.id
  policy = data.aws_iam_policy_document.ci.json
}
