-- +goose Up
-- What fraud checks and integrations need to know about an order: where it
-- went, how it was paid, how the shopper arrived; and its cancellation and
-- refunds, which the store reports after the fact.
ALTER TABLE orders
    ADD COLUMN shipping_address    jsonb CHECK (jsonb_typeof(shipping_address) = 'object'),
    ADD COLUMN payment_fingerprint text NOT NULL DEFAULT '',
    ADD COLUMN referral_code       text NOT NULL DEFAULT '',
    ADD COLUMN device_id           text NOT NULL DEFAULT '',
    ADD COLUMN cancelled_at        timestamptz,
    ADD COLUMN cancel_reason       text NOT NULL DEFAULT '',
    ADD COLUMN refunded_minor      bigint NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
    -- A refund can never exceed what was paid; the service says so first, this is the backstop.
    ADD CONSTRAINT orders_refunded_within_total CHECK (refunded_minor <= total_minor);

-- Referral attribution looks orders up by code, whatever its case.
CREATE INDEX orders_referral_code_idx ON orders (lower(referral_code)) WHERE referral_code <> '';
-- Fraud checks compare a new order's card with earlier orders.
CREATE INDEX orders_payment_fingerprint_idx ON orders (payment_fingerprint) WHERE payment_fingerprint <> '';

-- Money given back on an order, one row per refund the payment system made;
-- (order_id, reference) makes a retry, or the same refund reported by two
-- systems, count once.
CREATE TABLE order_refunds (
    id           bigserial PRIMARY KEY,
    order_id     bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    currency     char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    reference    text NOT NULL CHECK (reference <> ''),
    reason       text NOT NULL DEFAULT '',
    source       text NOT NULL
                 CHECK (source IN ('return', 'stripe', 'shopify', 'woocommerce', 'api', 'dispute')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (order_id, reference)
);

-- +goose Down
DROP TABLE order_refunds;
DROP INDEX orders_payment_fingerprint_idx, orders_referral_code_idx;
ALTER TABLE orders
    DROP CONSTRAINT orders_refunded_within_total,
    DROP COLUMN refunded_minor,
    DROP COLUMN cancel_reason,
    DROP COLUMN cancelled_at,
    DROP COLUMN device_id,
    DROP COLUMN referral_code,
    DROP COLUMN payment_fingerprint,
    DROP COLUMN shipping_address;
