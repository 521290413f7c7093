# The app's secrets (core/config.py). Terraform creates the containers only: values are
# put by an operator, so they never enter code, plan output or state:
#   aws secretsmanager put-secret-value --secret-id <stripe_secret_arn> \
#     --secret-string file://stripe.json      # {"api_key": "rk_live_...", "webhook_secret": "..."}
#   aws secretsmanager put-secret-value --secret-id <stripe_backoffice_secret_arn> \
#     --secret-string file://stripe-bo.json   # {"api_key": "sk_live_..."}
#   aws secretsmanager put-secret-value --secret-id <app_secret_arn> \
#     --secret-string file://app.json         # {"django_secret_key": "...", "vendor_api_key": "..."}

resource "aws_secretsmanager_secret" "stripe" {
  #checkov:skip=CKV_AWS_149:AWS-managed key (aws/secretsmanager): only this account's principals with GetSecretValue can read it either way; a CMK costs $1/month and a key policy for no narrower access.
  #checkov:skip=CKV2_AWS_57:Stripe keys are rolled in Stripe's dashboard and then put here (docs/infra.md, "Rotating secrets"); a rotation Lambda cannot create Stripe keys.
  name                    = "${local.secret_prefix}/stripe"
  description             = "The public API's Stripe restricted key (no refunds) and the webhook signing secret: JSON {api_key, webhook_secret}."
  recovery_window_in_days = var.secret_recovery_window_days
}

# The back office's Stripe key: the one that may refund (docs/deploy.md, "Stripe's keys").
resource "aws_secretsmanager_secret" "stripe_backoffice" {
  #checkov:skip=CKV_AWS_149:AWS-managed key (see the stripe secret).
  #checkov:skip=CKV2_AWS_57:Rolled in Stripe's dashboard, like the public one.
  name                    = "${local.secret_prefix}/stripe-backoffice"
  description             = "The back office's Stripe key (refunds): JSON {api_key}."
  recovery_window_in_days = var.secret_recovery_window_days
}

# The origin header's value (variables.tf: origin_verify_secret). Unlike the two above, Terraform
# writes this value: the same value must go into the distribution's origin header, so it is in
# the state either way.
resource "aws_secretsmanager_secret" "origin" {
  #checkov:skip=CKV_AWS_149:AWS-managed key (see the stripe secret).
  #checkov:skip=CKV2_AWS_57:Rotated by changing origin_verify_secret and applying: the header and the secret change together (docs/infra.md, "Rotating secrets").
  name                    = "${local.secret_prefix}/origin"
  description             = "The X-Origin-Verify value CloudFront sends to the API: JSON {origin_verify_secret}."
  recovery_window_in_days = var.secret_recovery_window_days
}

resource "aws_secretsmanager_secret_version" "origin" {
  secret_id     = aws_secretsmanager_secret.origin.id
  secret_string = jsonencode({ origin_verify_secret = var.origin_verify_secret })
}

resource "aws_secretsmanager_secret" "app" {
  #checkov:skip=CKV_AWS_149:AWS-managed key (see the stripe secret).
  #checkov:skip=CKV2_AWS_57:Rotated by hand (docs/infra.md, "Rotating secrets"): the vendor issues its API keys, and a new Django key must be rolled out with the sessions it signs in mind.
  name                    = "${local.secret_prefix}/app"
  description             = "Django secret key and fulfillment vendor API key: JSON {django_secret_key, vendor_api_key}."
  recovery_window_in_days = var.secret_recovery_window_days
}
