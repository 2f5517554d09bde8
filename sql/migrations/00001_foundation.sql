-- +goose Up
-- The store's own settings: one row, branding and time zone for pages and emails.
CREATE TABLE settings (
    id            boolean PRIMARY KEY DEFAULT true CHECK (id),
    store_name    text NOT NULL DEFAULT 'Our store',
    store_url     text NOT NULL DEFAULT '',
    logo_url      text NOT NULL DEFAULT '',
    accent_color  text NOT NULL DEFAULT '#1f6f5c' CHECK (accent_color ~ '^#[0-9a-fA-F]{6}$'),
    support_email text NOT NULL DEFAULT '',
    time_zone     text NOT NULL DEFAULT 'UTC',
    updated_at    timestamptz NOT NULL DEFAULT now()
);
INSERT INTO settings DEFAULT VALUES;

CREATE TABLE customers (
    id                 bigserial PRIMARY KEY,
    email              text NOT NULL CHECK (email = lower(btrim(email)) AND email <> ''),
    name               text NOT NULL DEFAULT '',
    stripe_customer_id text,
    marketing_consent  boolean NOT NULL DEFAULT false,
    unsubscribed_at    timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX customers_email_key ON customers (email);

CREATE TABLE products (
    id              bigserial PRIMARY KEY,
    sku             text NOT NULL UNIQUE CHECK (sku <> ''),
    title           text NOT NULL,
    image_url       text NOT NULL DEFAULT '',
    product_url     text NOT NULL DEFAULT '',
    returnable      boolean NOT NULL DEFAULT true,
    replenish_days  integer CHECK (replenish_days > 0),
    guide_md        text NOT NULL DEFAULT '',
    guide_video_url text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (
    id                bigserial PRIMARY KEY,
    source            text NOT NULL CHECK (source <> ''),
    external_id       text NOT NULL CHECK (external_id <> ''),
    number            text NOT NULL,
    customer_id       bigint NOT NULL REFERENCES customers (id),
    placed_at         timestamptz NOT NULL,
    currency          char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    subtotal_minor    bigint NOT NULL,
    discount_minor    bigint NOT NULL DEFAULT 0,
    shipping_minor    bigint NOT NULL DEFAULT 0,
    tax_minor         bigint NOT NULL DEFAULT 0,
    total_minor       bigint NOT NULL,
    discount_codes    text[] NOT NULL DEFAULT '{}',
    payment_reference text NOT NULL DEFAULT '',
    status            text NOT NULL DEFAULT 'open'
                      CHECK (status IN ('open', 'cancelled', 'refunded', 'partially_refunded')),
    content_hash      bytea NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, external_id)
);
CREATE INDEX orders_customer_placed_idx ON orders (customer_id, placed_at DESC);
CREATE INDEX orders_number_idx ON orders (number);

CREATE TABLE order_items (
    id               bigserial PRIMARY KEY,
    order_id         bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no          integer NOT NULL CHECK (line_no > 0),
    sku              text NOT NULL,
    product_id       bigint REFERENCES products (id),
    title            text NOT NULL,
    quantity         integer NOT NULL CHECK (quantity > 0),
    unit_price_minor bigint NOT NULL CHECK (unit_price_minor >= 0),
    UNIQUE (order_id, line_no)
);
CREATE INDEX order_items_sku_idx ON order_items (sku);

CREATE TABLE shipments (
    id                 bigserial PRIMARY KEY,
    order_id           bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    carrier            text NOT NULL CHECK (carrier <> ''),
    tracking_number    text NOT NULL CHECK (tracking_number <> ''),
    tracking_url       text NOT NULL DEFAULT '',
    status             text NOT NULL DEFAULT 'label_created'
                       CHECK (status IN ('label_created', 'in_transit', 'out_for_delivery', 'attempted_delivery',
                                         'available_for_pickup', 'delivered', 'exception', 'returned_to_sender')),
    estimated_delivery date,
    shipped_at         timestamptz,
    delivered_at       timestamptz,
    last_event_at      timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (carrier, tracking_number)
);
CREATE INDEX shipments_order_idx ON shipments (order_id);

CREATE TABLE shipment_items (
    shipment_id   bigint NOT NULL REFERENCES shipments (id) ON DELETE CASCADE,
    order_item_id bigint NOT NULL REFERENCES order_items (id) ON DELETE CASCADE,
    quantity      integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (shipment_id, order_item_id)
);

CREATE TABLE tracking_events (
    id                bigserial PRIMARY KEY,
    shipment_id       bigint NOT NULL REFERENCES shipments (id) ON DELETE CASCADE,
    status            text NOT NULL
                      CHECK (status IN ('label_created', 'in_transit', 'out_for_delivery', 'attempted_delivery',
                                        'available_for_pickup', 'delivered', 'exception', 'returned_to_sender')),
    detail            text NOT NULL DEFAULT '',
    location          text NOT NULL DEFAULT '',
    occurred_at       timestamptz NOT NULL,
    provider_event_id text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (shipment_id, provider_event_id)
);
CREATE INDEX tracking_events_shipment_idx ON tracking_events (shipment_id, occurred_at);

-- Magic-link tokens: the JWT is not stored, only its jti, so a token is spent once.
CREATE TABLE login_tokens (
    jti          uuid PRIMARY KEY,
    customer_id  bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    purpose      text NOT NULL,
    kid          text NOT NULL,
    code_hash    bytea,
    code_tries   integer NOT NULL DEFAULT 0,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_tokens_customer_idx ON login_tokens (customer_id, created_at DESC);

-- Sessions: only the SHA-256 of the random id is stored.
CREATE TABLE sessions (
    id_hash      bytea PRIMARY KEY,
    customer_id  bigint REFERENCES customers (id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    user_agent   text NOT NULL DEFAULT '',
    ip           text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE api_keys (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL,
    prefix       text NOT NULL,
    hash         bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

-- Fixed-window counters shared by every instance.
CREATE TABLE rate_limits (
    key          text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    hits         integer NOT NULL
);

-- The outbox: every email, written in the transaction of its cause.
CREATE TABLE messages (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL,
    dedupe_key   text NOT NULL UNIQUE,
    customer_id  bigint REFERENCES customers (id) ON DELETE SET NULL,
    order_id     bigint REFERENCES orders (id) ON DELETE SET NULL,
    shipment_id  bigint REFERENCES shipments (id) ON DELETE SET NULL,
    to_address   text NOT NULL,
    subject      text NOT NULL DEFAULT '',
    html_body    text NOT NULL DEFAULT '',
    text_body    text NOT NULL DEFAULT '',
    headers      jsonb NOT NULL DEFAULT '{}',
    status       text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed', 'kept', 'skipped')),
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text NOT NULL DEFAULT '',
    rendered_at  timestamptz,
    sent_at      timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_customer_idx ON messages (customer_id, created_at DESC);
CREATE INDEX messages_status_idx ON messages (status, created_at);

CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    actor      text NOT NULL,
    action     text NOT NULL,
    subject    text NOT NULL DEFAULT '',
    detail     jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE audit_log, messages, rate_limits, api_keys, sessions, login_tokens, tracking_events,
    shipment_items, shipments, order_items, orders, products, customers, settings;
