# DynamoDB tables, exactly as the PynamoDB models declare them (tests/infra/test_infra.py compares
# each block with core.dynamodb.table_spec(model), both ways). Every table: on-demand,
# point-in-time recovery, encryption at rest with the AWS-managed KMS key (what the app's
# tables_ensure creates locally), deletion protection.
#
# Access patterns that justify each index are in the models' docstrings; no request path Scans.

# orders.models.Order: the spec's fixed keys and index names.
resource "aws_dynamodb_table" "orders" {
  #checkov:skip=CKV_AWS_119:AWS-managed KMS key (alias/aws/dynamodb) on purpose: the same role reads every item, so a customer-managed key adds $1/month plus per-request KMS calls without narrowing who can read.
  name                        = "${local.prefix}orders"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "order_id"
  range_key                   = "created_at"
  deletion_protection_enabled = var.dynamodb_deletion_protection

  attribute {
    name = "order_id"
    type = "S"
  }

  attribute {
    name = "created_at"
    type = "S"
  }

  attribute {
    name = "customer_id"
    type = "S"
  }

  attribute {
    name = "status_key"
    type = "S"
  }

  attribute {
    name = "created_day"
    type = "S"
  }

  attribute {
    name = "dispute_flag"
    type = "S"
  }

  attribute {
    name = "fulfillment_queue"
    type = "S"
  }

  attribute {
    name = "attention"
    type = "S"
  }

  attribute {
    name = "fulfillment_next_at"
    type = "S"
  }

  attribute {
    name = "void_queue"
    type = "S"
  }

  attribute {
    name = "void_next_at"
    type = "S"
  }

  global_secondary_index {
    name            = "customer-id-index"
    hash_key        = "customer_id"
    range_key       = "created_at"
    projection_type = "ALL"
  }

  # Keyed on "{status}#{shard}" (orders.models.ORDER_STATUS_SHARDS): an on-sale's new orders
  # are all pending_payment, more than one partition takes. Changing the key recreates the
  # index; run `manage.py admin_indexes_backfill` after the apply (docs/onsale.md).
  global_secondary_index {
    name            = "order-status-index"
    hash_key        = "status_key"
    range_key       = "created_at"
    projection_type = "ALL"
  }

  # The admin's newest-first list, date filter and CSV export: one partition per UTC day.
  global_secondary_index {
    name            = "order-day-index"
    hash_key        = "created_day"
    range_key       = "created_at"
    projection_type = "ALL"
  }

  # Sparse: only orders with an open dispute (the dashboard's open problems).
  global_secondary_index {
    name            = "order-dispute-index"
    hash_key        = "dispute_flag"
    range_key       = "created_at"
    projection_type = "ALL"
  }

  # Sparse: only orders whose money and state disagree (attention = the reason); the admin's
  # needs-attention queue reads one partition per reason.
  global_secondary_index {
    name            = "order-attention-index"
    hash_key        = "attention"
    range_key       = "created_at"
    projection_type = "ALL"
  }

  # Sparse: only orders waiting for the ticket vendor; the fulfillment sweeper's queue.
  global_secondary_index {
    name            = "fulfillment-due-index"
    hash_key        = "fulfillment_queue"
    range_key       = "fulfillment_next_at"
    projection_type = "ALL"
  }

  # Sparse: only orders with tickets to void at the vendor: "due" (the sweeper's queue) or
  # "failed" (the needs-attention queue).
  global_secondary_index {
    name            = "void-queue-index"
    hash_key        = "void_queue"
    range_key       = "void_next_at"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}

# orders.models.Customer
resource "aws_dynamodb_table" "customers" {
  #checkov:skip=CKV_AWS_119:AWS-managed KMS key on purpose (see the orders table).
  name                        = "${local.prefix}customers"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "customer_id"
  deletion_protection_enabled = var.dynamodb_deletion_protection

  attribute {
    name = "customer_id"
    type = "S"
  }

  attribute {
    name = "email"
    type = "S"
  }

  attribute {
    name = "created_day"
    type = "S"
  }

  attribute {
    name = "created_at"
    type = "S"
  }

  attribute {
    name = "name_bucket"
    type = "S"
  }

  attribute {
    name = "name_key"
    type = "S"
  }

  attribute {
    name = "surname_bucket"
    type = "S"
  }

  attribute {
    name = "surname_key"
    type = "S"
  }

  attribute {
    name = "email_bucket"
    type = "S"
  }

  # The admin's newest-first customer list.
  global_secondary_index {
    name            = "customer-day-index"
    hash_key        = "created_day"
    range_key       = "created_at"
    projection_type = "ALL"
  }

  global_secondary_index {
    name            = "email-index"
    hash_key        = "email"
    projection_type = "ALL"
  }

  # The admin's search: by the start of the name, of its last word, of the e-mail. Each is
  # keyed on the first two characters (a search reads one partition; writes spread over
  # hundreds) and sorted by the normalised text (begins_with).
  global_secondary_index {
    name            = "customer-name-index"
    hash_key        = "name_bucket"
    range_key       = "name_key"
    projection_type = "ALL"
  }

  global_secondary_index {
    name            = "customer-surname-index"
    hash_key        = "surname_bucket"
    range_key       = "surname_key"
    projection_type = "ALL"
  }

  global_secondary_index {
    name            = "customer-email-prefix-index"
    hash_key        = "email_bucket"
    range_key       = "email"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}

# orders.models.TicketType: the catalog. catalog-index is sparse (only active types carry
# catalog_key), so GET /catalog is one Query.
resource "aws_dynamodb_table" "ticket_types" {
  #checkov:skip=CKV_AWS_119:AWS-managed KMS key on purpose (see the orders table).
  name                        = "${local.prefix}ticket-types"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "sku"
  deletion_protection_enabled = var.dynamodb_deletion_protection

  attribute {
    name = "sku"
    type = "S"
  }

  attribute {
    name = "catalog_key"
    type = "S"
  }

  attribute {
    name = "listing"
    type = "S"
  }

  global_secondary_index {
    name            = "catalog-index"
    hash_key        = "catalog_key"
    range_key       = "sku"
    projection_type = "ALL"
  }

  # Every ticket type, active or not, A-Z: the admin's list.
  global_secondary_index {
    name            = "ticket-type-list-index"
    hash_key        = "listing"
    range_key       = "sku"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}

# payments.models.Payment: the spec's fixed keys and index names.
resource "aws_dynamodb_table" "payments" {
  #checkov:skip=CKV_AWS_119:AWS-managed KMS key on purpose (see the orders table).
  name                        = "${local.prefix}payments"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "payment_id"
  range_key                   = "created_at"
  deletion_protection_enabled = var.dynamodb_deletion_protection

  attribute {
    name = "payment_id"
    type = "S"
  }

  attribute {
    name = "created_at"
    type = "S"
  }

  attribute {
    name = "order_id"
    type = "S"
  }

  attribute {
    name = "status"
    type = "S"
  }

  attribute {
    name = "charge_id"
    type = "S"
  }

  # Sparse: the admin's search by Stripe charge id (only payments with a charge).
  global_secondary_index {
    name            = "charge-id-index"
    hash_key        = "charge_id"
    projection_type = "ALL"
  }

  global_secondary_index {
    name            = "order-id-index"
    hash_key        = "order_id"
    range_key       = "created_at"
    projection_type = "ALL"
  }

  global_secondary_index {
    name            = "payment-status-index"
    hash_key        = "status"
    range_key       = "created_at"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}

# core.backoffice.BackOfficeRecord: staff, sessions, audit, idempotency records, webhook
# events (the Stripe event inbox), uniqueness claims, rate-limit counters, integration-health
# markers. expires_at is the TTL attribute (sessions, idempotency records, rate-limit windows
# and Stripe events, after 30 days, expire).
resource "aws_dynamodb_table" "backoffice" {
  #checkov:skip=CKV_AWS_119:AWS-managed KMS key on purpose (see the orders table).
  name                        = "${local.prefix}backoffice"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = var.dynamodb_deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  attribute {
    name = "gsi1pk"
    type = "S"
  }

  attribute {
    name = "gsi1sk"
    type = "S"
  }

  attribute {
    name = "gsi2pk"
    type = "S"
  }

  attribute {
    name = "gsi2sk"
    type = "S"
  }

  attribute {
    name = "mail_queue"
    type = "S"
  }

  attribute {
    name = "mail_next_at"
    type = "S"
  }

  global_secondary_index {
    name            = "gsi1"
    hash_key        = "gsi1pk"
    range_key       = "gsi1sk"
    projection_type = "ALL"
  }

  # Sparse: a second access pattern on the same item (the Stripe event inbox by event type
  # and outcome, while gsi1 holds it by outcome).
  global_secondary_index {
    name            = "gsi2"
    hash_key        = "gsi2pk"
    range_key       = "gsi2sk"
    projection_type = "ALL"
  }

  # Sparse: the buyers' e-mails waiting to be sent (orders.models.BuyerEmail). An index of its
  # own so the public role is granted this queue and none of gsi1's lists.
  global_secondary_index {
    name            = "mail-queue-index"
    hash_key        = "mail_queue"
    range_key       = "mail_next_at"
    projection_type = "ALL"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}

locals {
  # Every table, for IAM, alarms, the dashboard and outputs. Adding a table means adding it here.
  tables = {
    orders       = aws_dynamodb_table.orders
    customers    = aws_dynamodb_table.customers
    ticket_types = aws_dynamodb_table.ticket_types
    payments     = aws_dynamodb_table.payments
    backoffice   = aws_dynamodb_table.backoffice
  }
}
