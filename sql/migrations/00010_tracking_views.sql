-- +goose Up
-- Each time a shopper opens an order page: the "where is my order" load the
-- dashboard reports per parcel shipped.
CREATE TABLE tracking_views (
    id        bigserial PRIMARY KEY,
    order_id  bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    viewed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tracking_views_viewed_idx ON tracking_views (viewed_at);

-- +goose Down
DROP TABLE tracking_views;
