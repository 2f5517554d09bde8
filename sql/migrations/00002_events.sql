-- +goose Up
-- A domain event's reaction runs once per subscriber: its row is written in
-- the same transaction as the reaction's effects, so a retry finds it done.
CREATE TABLE event_reactions (
    event_id   uuid NOT NULL,
    subscriber text NOT NULL,
    kind       text NOT NULL,
    done_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, subscriber)
);

-- Settings of each feature (return policy, journey timings, integrations),
-- one JSON document per section, validated by its owner.
CREATE TABLE store_settings (
    section    text PRIMARY KEY,
    value      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE store_settings, event_reactions;
