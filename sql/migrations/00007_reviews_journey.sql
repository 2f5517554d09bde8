-- +goose Up
-- Marketing mail (review requests, replenishment, offers, referral invites)
-- is paced and needs consent; order updates are not. deferred_until is when
-- a paced message will be tried again, for the dev mailbox and support.
ALTER TABLE messages
    ADD COLUMN marketing      boolean NOT NULL DEFAULT false,
    ADD COLUMN deferred_until timestamptz;
-- The frequency cap looks up a customer's latest marketing email.
CREATE INDEX messages_marketing_sent_idx ON messages (customer_id, sent_at DESC) WHERE marketing AND sent_at IS NOT NULL;

-- What recipients did with a message: opened it (pixel), clicked a link
-- (signed redirect), unsubscribed from it.
CREATE TABLE message_events (
    id         bigserial PRIMARY KEY,
    message_id bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('open', 'click', 'unsubscribe')),
    url        text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX message_events_message_idx ON message_events (message_id, kind, created_at);

-- One row per scheduled email of the journey (review request, reminder,
-- replenishment, recommendations, win-back). key makes scheduling
-- idempotent: an event delivered twice, or a second delivered parcel of the
-- same product, finds the step already there.
CREATE TABLE journey_steps (
    id            bigserial PRIMARY KEY,
    kind          text NOT NULL CHECK (kind <> ''),
    key           text NOT NULL UNIQUE CHECK (key <> ''),
    customer_id   bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    order_id      bigint REFERENCES orders (id) ON DELETE CASCADE,
    shipment_id   bigint REFERENCES shipments (id) ON DELETE CASCADE,
    order_item_id bigint REFERENCES order_items (id) ON DELETE CASCADE,
    due_at        timestamptz NOT NULL,
    state         text NOT NULL DEFAULT 'scheduled' CHECK (state IN ('scheduled', 'sent', 'skipped')),
    reason        text NOT NULL DEFAULT '',
    message_id    bigint REFERENCES messages (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    done_at       timestamptz
);
CREATE INDEX journey_steps_customer_idx ON journey_steps (customer_id, due_at);
CREATE INDEX journey_steps_due_idx ON journey_steps (due_at) WHERE state = 'scheduled';

-- A personal win-back code, one per win-back step; the step id is the
-- Idempotency-Key of its Stripe writes.
CREATE TABLE winback_offers (
    step_id                  bigint PRIMARY KEY REFERENCES journey_steps (id) ON DELETE CASCADE,
    customer_id              bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    stripe_coupon_id         text NOT NULL,
    stripe_promotion_code_id text NOT NULL,
    code                     text NOT NULL,
    percent_off              integer NOT NULL CHECK (percent_off BETWEEN 1 AND 100),
    expires_at               timestamptz NOT NULL,
    created_at               timestamptz NOT NULL DEFAULT now()
);

-- "Goes well with": products the store pairs with a product, by SKU so a
-- pairing may name a product that arrives later.
CREATE TABLE product_pairings (
    product_id bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    with_sku   text NOT NULL CHECK (with_sku <> ''),
    position   integer NOT NULL,
    PRIMARY KEY (product_id, with_sku)
);

-- Who read which guide, and when.
CREATE TABLE guide_views (
    id          bigserial PRIMARY KEY,
    product_id  bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    customer_id bigint REFERENCES customers (id) ON DELETE SET NULL,
    viewed_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX guide_views_product_idx ON guide_views (product_id, viewed_at);

-- A review of one order line by its buyer: verified by construction. Staff
-- reject only for a reason from a fixed list, never for its rating.
CREATE TABLE reviews (
    id            bigserial PRIMARY KEY,
    order_item_id bigint NOT NULL UNIQUE REFERENCES order_items (id) ON DELETE CASCADE,
    order_id      bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    customer_id   bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    sku           text NOT NULL,
    rating        smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    title         text NOT NULL CHECK (length(title) <= 150),
    body          text NOT NULL CHECK (length(body) <= 5000),
    author_name   text NOT NULL,
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'published', 'rejected')),
    reject_reason text CHECK (reject_reason IN ('spam', 'abuse', 'off_topic', 'personal_data')),
    reply_body    text NOT NULL DEFAULT '' CHECK (length(reply_body) <= 5000),
    reply_by      bigint REFERENCES staff (id) ON DELETE SET NULL,
    reply_at      timestamptz,
    moderated_by  bigint REFERENCES staff (id) ON DELETE SET NULL,
    published_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'rejected') = (reject_reason IS NOT NULL)),
    CHECK ((status = 'published') = (published_at IS NOT NULL))
);
CREATE INDEX reviews_sku_published_idx ON reviews (sku, published_at DESC, id DESC) WHERE status = 'published';
CREATE INDEX reviews_queue_idx ON reviews (status, created_at, id);
CREATE INDEX reviews_customer_idx ON reviews (customer_id);

-- At most one review request per product per customer, ever.
CREATE TABLE review_asks (
    customer_id   bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    sku           text NOT NULL,
    order_item_id bigint NOT NULL REFERENCES order_items (id) ON DELETE CASCADE,
    step_id       bigint NOT NULL REFERENCES journey_steps (id) ON DELETE CASCADE,
    asked_at      timestamptz NOT NULL,
    PRIMARY KEY (customer_id, sku)
);
CREATE INDEX review_asks_step_idx ON review_asks (step_id);

-- +goose Down
DROP TABLE review_asks, reviews, guide_views, product_pairings, winback_offers, journey_steps, message_events;
DROP INDEX messages_marketing_sent_idx;
ALTER TABLE messages DROP COLUMN deferred_until, DROP COLUMN marketing;
