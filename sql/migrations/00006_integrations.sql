-- +goose Up
-- The webhook inbox: every verified delivery from a store or carrier, kept
-- as received (raw bytes: signatures and escaped slashes survive) before a
-- job processes it, so nothing is lost and a failure can be replayed.
-- (provider, event_id) makes a redelivery count once.
CREATE TABLE webhook_events (
    id           bigserial PRIMARY KEY,
    provider     text NOT NULL CHECK (provider ~ '^[a-z][a-z0-9_-]{0,31}$'),
    event_id     text NOT NULL CHECK (event_id <> ''),
    topic        text NOT NULL DEFAULT '',
    body         bytea NOT NULL,
    headers      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(headers) = 'object'),
    received_at  timestamptz NOT NULL DEFAULT now(),
    -- processed_at is set once the event was applied (or deliberately
    -- ignored, see outcome); last_error holds the newest failure, and
    -- gave_up_at is set when no more retries are coming.
    processed_at timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text NOT NULL DEFAULT '',
    outcome      text NOT NULL DEFAULT '',
    gave_up_at   timestamptz,
    UNIQUE (provider, event_id)
);
CREATE INDEX webhook_events_provider_idx ON webhook_events (provider, id DESC);
-- The admin's "failed" filter.
CREATE INDEX webhook_events_failed_idx ON webhook_events (id DESC) WHERE processed_at IS NULL AND last_error <> '';

-- What integrations remember about the other system's records: the newest
-- version applied (webhooks arrive out of order, an older update must not
-- overwrite a newer one) and which record of ours a record of theirs
-- became (a Shopify fulfillment is our shipment).
CREATE TABLE webhook_resources (
    provider    text NOT NULL,
    kind        text NOT NULL,
    external_id text NOT NULL,
    version     timestamptz,
    internal_id bigint,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, kind, external_id)
);

-- Checkouts a shopper left without paying (Shopify checkouts/update, Stripe
-- checkout.session.expired), for one reminder email to customers who agreed
-- to marketing. reminder is pending until the reminder job decides: queued
-- (the email is in the outbox), cancelled (the shopper ordered) or skipped
-- (no consent, unsubscribed, reminders off, no link); reminder_note says why.
CREATE TABLE abandoned_checkouts (
    id           bigserial PRIMARY KEY,
    source       text NOT NULL CHECK (source <> ''),
    external_id  text NOT NULL CHECK (external_id <> ''),
    email        text NOT NULL DEFAULT '' CHECK (email = lower(btrim(email))),
    name         text NOT NULL DEFAULT '',
    currency     text NOT NULL DEFAULT '',
    total_minor  bigint NOT NULL DEFAULT 0 CHECK (total_minor >= 0),
    items        jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(items) = 'array'),
    recovery_url text NOT NULL DEFAULT '',
    started_at   timestamptz NOT NULL,
    abandoned_at timestamptz NOT NULL,
    completed_at timestamptz,
    reminder     text NOT NULL DEFAULT 'pending'
                 CHECK (reminder IN ('pending', 'queued', 'cancelled', 'skipped')),
    reminder_note text NOT NULL DEFAULT '',
    reminded_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, external_id)
);
CREATE INDEX abandoned_checkouts_email_idx ON abandoned_checkouts (email) WHERE completed_at IS NULL;

-- Stripe refunds and disputes name the payment, not the order: find the
-- order by its payment reference (a PaymentIntent id).
CREATE INDEX IF NOT EXISTS orders_payment_reference_idx ON orders (payment_reference) WHERE payment_reference <> '';

-- +goose Down
DROP INDEX IF EXISTS orders_payment_reference_idx;
DROP TABLE abandoned_checkouts, webhook_resources, webhook_events;
