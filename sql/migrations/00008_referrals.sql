-- +goose Up
-- Referral codes: one per customer, FIRSTNAME-XXXX. The random part uses an
-- alphabet without look-alikes (no 0/O, 1/I/L). Uniqueness is the index's
-- job, so codes created at the same instant on two instances never clash.
CREATE TABLE referral_codes (
    id          bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    code        text NOT NULL CHECK (code ~ '^[A-Z]{1,12}-[2-9A-HJKMNP-Z]{4,8}$'),
    disabled_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX referral_codes_customer_key ON referral_codes (customer_id);
CREATE UNIQUE INDEX referral_codes_code_key ON referral_codes (code);

-- Visits of a share link (the funnel's first step), with the first-party
-- device cookie that ties a later order to the visit.
CREATE TABLE referral_visits (
    id         bigserial PRIMARY KEY,
    code_id    bigint NOT NULL REFERENCES referral_codes (id) ON DELETE CASCADE,
    device_id  text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX referral_visits_code_idx ON referral_visits (code_id, created_at);
CREATE INDEX referral_visits_device_idx ON referral_visits (device_id, created_at);

-- A referral is a friend's claim of a referrer's offer (source 'claim', with
-- a single-use Stripe promotion code), or an order attributed through the
-- store's referral field after a visit (source 'attribution'). It converts
-- once: a friend converts at most one referral (first referrer wins), and an
-- order converts at most one.
CREATE TABLE referrals (
    id                       bigserial PRIMARY KEY,
    code_id                  bigint NOT NULL REFERENCES referral_codes (id) ON DELETE CASCADE,
    referrer_id              bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    source                   text NOT NULL CHECK (source IN ('claim', 'attribution')),
    friend_email             text NOT NULL CHECK (friend_email = lower(btrim(friend_email)) AND friend_email <> ''),
    friend_email_norm        text NOT NULL,
    device_id                text NOT NULL DEFAULT '',
    promotion_code           text,
    stripe_promotion_code_id text NOT NULL DEFAULT '',
    offer_expires_at         timestamptz,
    status                   text NOT NULL DEFAULT 'invited' CHECK (status IN ('invited', 'converted')),
    friend_customer_id       bigint REFERENCES customers (id) ON DELETE SET NULL,
    order_id                 bigint REFERENCES orders (id) ON DELETE SET NULL,
    converted_at             timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'converted') = (converted_at IS NOT NULL))
);
CREATE UNIQUE INDEX referrals_claim_key ON referrals (code_id, friend_email_norm);
CREATE UNIQUE INDEX referrals_promotion_code_key ON referrals (promotion_code);
CREATE UNIQUE INDEX referrals_friend_key ON referrals (friend_customer_id) WHERE status = 'converted';
CREATE UNIQUE INDEX referrals_order_key ON referrals (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX referrals_friend_email_idx ON referrals (friend_email_norm, created_at);
CREATE INDEX referrals_referrer_idx ON referrals (referrer_id, created_at DESC);

-- What a customer has been seen with (normalized email, shipping address,
-- payment fingerprint, device cookie), kept as SHA-256 digests: enough to
-- tell a self-referral, without another copy of anyone's address.
CREATE TABLE referral_identities (
    customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('email', 'address', 'payment', 'device')),
    digest      text NOT NULL,
    seen_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, kind, digest)
);
CREATE INDEX referral_identities_digest_idx ON referral_identities (kind, digest);

-- Stripe coupons made for an offer, one per offer shape, made once.
CREATE TABLE referral_coupons (
    spec_key         text PRIMARY KEY,
    stripe_coupon_id text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- A referrer's reward: for one converted referral, or a milestone bonus.
-- held (waiting for the friend's return window) | flagged (waiting for staff)
-- -> pending (payable) -> granted | failed (retried) ; any -> voided. A void
-- after a grant claws back (clawback pending -> done). The offer is copied in
-- so that later settings never change a reward already earned.
CREATE TABLE rewards (
    id                       bigserial PRIMARY KEY,
    customer_id              bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    kind                     text NOT NULL CHECK (kind IN ('referral', 'milestone')),
    referral_id              bigint REFERENCES referrals (id) ON DELETE CASCADE,
    order_id                 bigint REFERENCES orders (id) ON DELETE SET NULL,
    milestone_no             integer CHECK (milestone_no > 0),
    reward_type              text NOT NULL CHECK (reward_type IN ('coupon', 'credit')),
    offer_kind               text NOT NULL CHECK (offer_kind IN ('percent', 'amount')),
    percent                  integer NOT NULL DEFAULT 0 CHECK (percent BETWEEN 0 AND 100),
    amount_minor             bigint NOT NULL DEFAULT 0 CHECK (amount_minor >= 0),
    currency                 char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    minimum_minor            bigint NOT NULL DEFAULT 0 CHECK (minimum_minor >= 0),
    expiry_days              integer NOT NULL DEFAULT 0 CHECK (expiry_days >= 0),
    status                   text NOT NULL CHECK (status IN ('held', 'flagged', 'pending', 'granted', 'failed', 'voided')),
    signals                  text[] NOT NULL DEFAULT '{}',
    payable_at               timestamptz,
    hold_note                text NOT NULL DEFAULT '',
    attempts                 integer NOT NULL DEFAULT 0,
    next_attempt_at          timestamptz,
    last_error               text NOT NULL DEFAULT '',
    promotion_code           text,
    code_expires_at          timestamptz,
    stripe_customer_id       text NOT NULL DEFAULT '',
    stripe_coupon_id         text NOT NULL DEFAULT '',
    stripe_promotion_code_id text NOT NULL DEFAULT '',
    stripe_balance_txn_id    text NOT NULL DEFAULT '',
    granted_at               timestamptz,
    void_reason              text NOT NULL DEFAULT '',
    voided_at                timestamptz,
    clawback                 text NOT NULL DEFAULT 'none' CHECK (clawback IN ('none', 'pending', 'done')),
    clawback_ref             text NOT NULL DEFAULT '',
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'referral') = (referral_id IS NOT NULL)),
    CHECK ((kind = 'milestone') = (milestone_no IS NOT NULL)),
    CHECK (status <> 'granted' OR granted_at IS NOT NULL),
    CHECK (clawback = 'none' OR status = 'voided')
);
CREATE UNIQUE INDEX rewards_referral_key ON rewards (referral_id) WHERE kind = 'referral';
CREATE UNIQUE INDEX rewards_milestone_key ON rewards (customer_id, milestone_no) WHERE kind = 'milestone';
CREATE UNIQUE INDEX rewards_promotion_code_key ON rewards (promotion_code);
CREATE INDEX rewards_customer_idx ON rewards (customer_id, created_at DESC);
CREATE INDEX rewards_order_idx ON rewards (order_id);
CREATE INDEX rewards_status_idx ON rewards (status, next_attempt_at);

-- Every move of a reward, for the ledger and the admin's history.
CREATE TABLE reward_events (
    id          bigserial PRIMARY KEY,
    reward_id   bigint NOT NULL REFERENCES rewards (id) ON DELETE CASCADE,
    from_status text NOT NULL DEFAULT '',
    to_status   text NOT NULL,
    actor       text NOT NULL,
    note        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reward_events_reward_idx ON reward_events (reward_id, id);

-- +goose Down
DROP TABLE reward_events, rewards, referral_coupons, referral_identities, referrals, referral_visits, referral_codes;
