-- +goose Up
-- The dashboard's rollups kept incrementally (internal/dashboard Rollup,
-- issue 8): recounting a busy day every minute (200,000 orders, each probed
-- for its lines and its customer's first order; 600,000 messages, each
-- probed for events) cost seconds of database time per refresh.
--
-- Messages and their events are never changed once stamped (only a
-- message's status moves, from queued), so each is counted once, when it is
-- older than the rollup's late-commit margin ("settled"): per store day and
-- kind, how many messages, and how many of them had a first open, click
-- and unsubscribe by then. A refresh adds what settled since the last one,
-- and reads live only the last minutes and the messages not sent (queued,
-- failed, skipped) of the days it rewrites.
CREATE TABLE dashboard_email_settled (
    day          date NOT NULL,
    kind         text NOT NULL,
    messages     bigint NOT NULL,
    opened       bigint NOT NULL,
    clicked      bigint NOT NULL,
    unsubscribed bigint NOT NULL,
    PRIMARY KEY (day, kind)
);

-- Orders change (refunds, cancellations, a store's edits), so the sales
-- rollup keeps what it counted of each order, as of the order's updated_at:
-- a refresh takes out what it counted of an order whose updated_at moved
-- and adds the order as it is now. Cancelled orders count zero.
CREATE TABLE dashboard_sales_orders (
    order_id    bigint PRIMARY KEY,
    updated_at  timestamptz NOT NULL,
    day         date NOT NULL,
    currency    char(3) NOT NULL,
    customer_id bigint,
    orders      bigint NOT NULL,
    gross       bigint NOT NULL,
    refunded    bigint NOT NULL,
    items       bigint NOT NULL
);

-- The day of each customer's first (not cancelled) order per currency, as
-- counted in dashboard_sales_daily.new_buyers.
CREATE TABLE dashboard_sales_buyers (
    customer_id bigint NOT NULL,
    currency    char(3) NOT NULL,
    day         date NOT NULL,
    PRIMARY KEY (customer_id, currency)
);

-- Everything stamped before settled_at is in dashboard_email_settled; NULL
-- (as after this migration) makes the next refresh rebuild every rollup.
ALTER TABLE dashboard_rollup_state ADD COLUMN settled_at timestamptz;

-- The refresh no longer looks for messages by sent_at (a message sent was
-- queued at the last run, and its day is rewritten for that): nothing else
-- reads this index, and every email sent added an entry to it.
DROP INDEX messages_sent_idx;

-- +goose Down
CREATE INDEX messages_sent_idx ON messages (sent_at) WHERE sent_at IS NOT NULL;
ALTER TABLE dashboard_rollup_state DROP COLUMN settled_at;
DROP TABLE dashboard_sales_buyers, dashboard_sales_orders, dashboard_email_settled;
