# Failed asynchronous invocations. zappa.asynchronous.task (the fulfillment attempt after a
# payment) invokes the function with InvocationType=Event; Lambda retries a failing one twice
# and then, without a dead-letter queue, drops the event. Zappa's "dead_letter_arn"
# (zappa_settings.json) points the function's DeadLetterConfig here, so the event (with the
# order id in its kwargs) is kept for 14 days and an alarm says it happened.
#
# Nothing is lost either way: the order was put in the fulfillment queue (fulfillment-due-index)
# before the invocation was sent, and the every-minute sweep attempts it once its lease, if the
# failed invocation took one, has lapsed (tests/rehearsal/ shows it after a dropped invocation).
# The queue is for forensics: read a message, find the order, see why its task failed.

resource "aws_sqs_queue" "async_failures" {
  name                      = "${local.name}-async-failures"
  message_retention_seconds = 1209600 # 14 days, SQS's maximum
  sqs_managed_sse_enabled   = true
}

data "aws_iam_policy_document" "async_failures_queue" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["sqs:*"]
    resources = [
      aws_sqs_queue.async_failures.arn,
    ]

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

resource "aws_sqs_queue_policy" "async_failures" {
  queue_url = aws_sqs_queue.async_failures.id
  policy    = data.aws_iam_policy_document.async_failures_queue.json
}

resource "aws_cloudwatch_metric_alarm" "async_failures" {
  alarm_name          = "${local.name}-async-failures"
  alarm_description   = "An asynchronous task (a fulfillment attempt) failed three times and went to the dead-letter queue ${aws_sqs_queue.async_failures.name}: read the message, check the order (the sweep retries it) and the logs of its request."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.async_failures.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}
