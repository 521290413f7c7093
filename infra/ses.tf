# E-mail to buyers (integrations/email.py): the sender's SES identity, a configuration set whose
# event destination publishes hard bounces and complaints to SNS, and the SQS queue subscribed
# to it that the every-minute job drains (orders.services.buyer_mail.email_events_drain). The
# role may send from that identity through that configuration set only (iam.tf).
#
# A new account is in the SES sandbox (verified recipients only, 200 a day): request
# production access before the first sale (docs/deploy.md).

# SES's v1 resources: the same identities and configuration sets as v2 (the app sends with
# SESv2 SendEmail, naming this set), and the ones the rehearsal's emulator implements.
resource "aws_ses_email_identity" "sender" {
  email = var.email_sender_address
}

resource "aws_ses_configuration_set" "email" {
  #checkov:skip=CKV_AWS_365:TLS is required when var.email_require_tls (the default); only the rehearsal's emulator turns it off.
  name = "${local.name}-email"

  dynamic "delivery_options" {
    for_each = var.email_require_tls ? [1] : []
    content {
      tls_policy = "Require" # never hand a buyer's e-mail to a server without TLS
    }
  }
}

resource "aws_sns_topic" "email_events" {
  name              = "${local.name}-email-events"
  kms_master_key_id = "alias/aws/sns"
}

resource "aws_ses_event_destination" "bounces" {
  name                   = "bounces-and-complaints"
  configuration_set_name = aws_ses_configuration_set.email.name
  enabled                = true
  matching_types         = ["bounce", "complaint"]

  sns_destination {
    topic_arn = aws_sns_topic.email_events.arn
  }
}

resource "aws_sqs_queue" "email_events" {
  name                      = "${local.name}-email-events"
  message_retention_seconds = 1209600 # 14 days: nothing lost while the job is down
  sqs_managed_sse_enabled   = true
}

resource "aws_sns_topic_subscription" "email_events" {
  topic_arn = aws_sns_topic.email_events.arn
  protocol  = "sqs"
  endpoint  = aws_sqs_queue.email_events.arn
}

data "aws_iam_policy_document" "email_events_queue" {
  statement {
    sid       = "TopicDeliversToQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.email_events.arn]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.email_events.arn]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.email_events.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "email_events" {
  queue_url = aws_sqs_queue.email_events.id
  policy    = data.aws_iam_policy_document.email_events_queue.json
}
