-- +goose Up
-- A return: units of one order that its shopper sends back, known to both
-- sides by its RMA number. idempotency_key comes from the form, so a
-- double-submitted form finds the return the first submit made.
CREATE TABLE return_requests (
    id                bigserial PRIMARY KEY,
    rma               text NOT NULL UNIQUE CHECK (rma ~ '^R-[0-9A-Z]{6}$'),
    order_id          bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    customer_id       bigint NOT NULL REFERENCES customers (id),
    idempotency_key   text NOT NULL CHECK (idempotency_key <> ''),
    status            text NOT NULL DEFAULT 'requested'
                      CHECK (status IN ('requested', 'approved', 'rejected', 'in_transit', 'received',
                                        'resolution_failed', 'refunded', 'credited', 'exchanged', 'cancelled')),
    -- What the shopper asked for; staff may resolve otherwise.
    resolution        text NOT NULL CHECK (resolution IN ('refund', 'credit', 'exchange')),
    -- An EU withdrawal from the purchase, which needs no reason.
    withdrawal        boolean NOT NULL DEFAULT false,
    currency          char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- What the shopper paid for the requested units (discount and tax shared out).
    value_minor       bigint NOT NULL CHECK (value_minor >= 0),
    review_note       text NOT NULL DEFAULT '',
    reject_reason     text NOT NULL DEFAULT '',
    condition_note    text NOT NULL DEFAULT '',
    -- The method of the first resolution attempt: a retry after a failure
    -- must use it (and its Stripe idempotency key), never pay out twice.
    resolved_method   text CHECK (resolved_method IN ('refund', 'credit', 'exchange')),
    -- For a credit, how it was first attempted (balance or promotion_code),
    -- for the same reason.
    credit_method     text CHECK (credit_method IN ('balance', 'promotion_code')),
    resolved_minor    bigint,
    fee_minor         bigint NOT NULL DEFAULT 0,
    resolution_ref    text NOT NULL DEFAULT '',
    resolution_error  text NOT NULL DEFAULT '',
    attempts          integer NOT NULL DEFAULT 0,
    window_ends_at    timestamptz NOT NULL,
    status_changed_at timestamptz NOT NULL DEFAULT now(),
    received_at       timestamptz,
    resolved_at       timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (customer_id, idempotency_key)
);
CREATE INDEX return_requests_order_idx ON return_requests (order_id);
-- The staff queue: by status, oldest first.
CREATE INDEX return_requests_queue_idx ON return_requests (status, status_changed_at, id);

CREATE TABLE return_items (
    id            bigserial PRIMARY KEY,
    return_id     bigint NOT NULL REFERENCES return_requests (id) ON DELETE CASCADE,
    order_item_id bigint NOT NULL REFERENCES order_items (id) ON DELETE CASCADE,
    quantity      integer NOT NULL CHECK (quantity > 0),
    reason        text NOT NULL CHECK (reason <> ''),
    comment       text NOT NULL DEFAULT '',
    exchange_sku  text NOT NULL DEFAULT '',
    value_minor   bigint NOT NULL CHECK (value_minor >= 0),
    received_qty  integer CHECK (received_qty BETWEEN 0 AND quantity),
    damaged_qty   integer CHECK (damaged_qty BETWEEN 0 AND received_qty),
    UNIQUE (return_id, order_item_id)
);
CREATE INDEX return_items_order_item_idx ON return_items (order_item_id);

-- Photos of damage, in PostgreSQL so that every instance serves them.
CREATE TABLE return_photos (
    id             bigserial PRIMARY KEY,
    return_id      bigint NOT NULL REFERENCES return_requests (id) ON DELETE CASCADE,
    return_item_id bigint REFERENCES return_items (id) ON DELETE CASCADE,
    content_type   text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png')),
    width          integer NOT NULL CHECK (width > 0),
    height         integer NOT NULL CHECK (height > 0),
    data           bytea NOT NULL CHECK (octet_length(data) BETWEEN 1 AND 5242880),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX return_photos_return_idx ON return_photos (return_id);

-- A return's history as the shopper and staff read it: one row per change.
CREATE TABLE return_events (
    id         bigserial PRIMARY KEY,
    return_id  bigint NOT NULL REFERENCES return_requests (id) ON DELETE CASCADE,
    status     text NOT NULL,
    actor      text NOT NULL,
    note       text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX return_events_return_idx ON return_events (return_id, id);

-- +goose Down
DROP TABLE return_events, return_photos, return_items, return_requests;
