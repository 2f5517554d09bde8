-- +goose Up
-- Daily rollups of the dashboard's two big sources, orders and messages, by
-- the store's calendar day: a year's figures then read 365 rows per
-- currency or kind instead of a million. A periodic job refreshes them
-- (internal/dashboard Rollup): today, yesterday, and every day whose rows
-- changed since its last run.
CREATE TABLE dashboard_sales_daily (
    day        date NOT NULL,
    currency   char(3) NOT NULL,
    orders     bigint NOT NULL,
    gross      bigint NOT NULL,
    refunded   bigint NOT NULL,
    items      bigint NOT NULL,
    -- Customers whose first (not cancelled) order in this currency is this day.
    new_buyers bigint NOT NULL,
    PRIMARY KEY (day, currency)
);

CREATE TABLE dashboard_email_daily (
    day          date NOT NULL,
    kind         text NOT NULL,
    sent         bigint NOT NULL,
    failed       bigint NOT NULL,
    opened       bigint NOT NULL,
    clicked      bigint NOT NULL,
    unsubscribed bigint NOT NULL,
    -- Messages still queued: their day is recomputed until they settle.
    queued       bigint NOT NULL,
    PRIMARY KEY (day, kind)
);

-- When the rollups were last refreshed, and in which time zone their days are.
CREATE TABLE dashboard_rollup_state (
    id           boolean PRIMARY KEY DEFAULT true CHECK (id),
    zone         text NOT NULL,
    refreshed_at timestamptz NOT NULL
);

-- What changed since the last refresh.
CREATE INDEX orders_updated_idx ON orders (updated_at);
CREATE INDEX messages_sent_idx ON messages (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX message_events_created_idx ON message_events (created_at);
-- Parcels created in a window, for the "where is my order" load.
CREATE INDEX shipments_created_idx ON shipments (created_at);

-- +goose Down
DROP INDEX shipments_created_idx, message_events_created_idx, messages_sent_idx, orders_updated_idx;
DROP TABLE dashboard_rollup_state, dashboard_email_daily, dashboard_sales_daily;
