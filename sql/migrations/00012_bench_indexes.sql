-- +goose Up
-- Found with `make bench` at the large size: the order page's "goes well
-- with" panel (journey.Recommend) counts, for each product of the order,
-- the other products of every order that has it: tens of thousands of
-- order_items rows per page view. With these two indexes both sides of that
-- self-join are index-only scans instead of heap fetches. The first one
-- replaces order_items_sku_idx, which it covers.
CREATE INDEX order_items_sku_order_idx ON order_items (sku, order_id);
CREATE INDEX order_items_order_sku_idx ON order_items (order_id, sku);
DROP INDEX order_items_sku_idx;

-- +goose Down
CREATE INDEX order_items_sku_idx ON order_items (sku);
DROP INDEX order_items_order_sku_idx;
DROP INDEX order_items_sku_order_idx;
