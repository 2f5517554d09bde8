-- +goose Up
-- Versions for the caches of the order page (issue 8). The page is read far
-- more often than what it shows changes, so instances keep what they read in
-- memory and check, per view, one number that every change moves:
--
--   orders.page_version  moves (in the same transaction) whenever the order,
--                        its lines, refunds, shipments, parcel contents,
--                        tracking events, returns (items, photos, history),
--                        reviews or its customer change;
--   cache_epochs         'settings' moves with settings and store_settings,
--                        'catalog' with products, pairings and staff (names in
--                        a return's history).
--
-- Triggers rather than application code, so that no writer (API, webhooks,
-- CSV import, staff pages, a psql session) can forget to move them.
ALTER TABLE orders ADD COLUMN page_version bigint NOT NULL DEFAULT 0;

CREATE TABLE cache_epochs (
    name  text PRIMARY KEY,
    epoch bigint NOT NULL DEFAULT 0
);
INSERT INTO cache_epochs (name) VALUES ('settings'), ('catalog');

-- +goose StatementBegin
CREATE FUNCTION bump_cache_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cache_epochs SET epoch = epoch + 1 WHERE name = TG_ARGV[0];
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION bump_order_page_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.page_version := OLD.page_version + 1;
    RETURN NEW;
END $$;
-- +goose StatementEnd

-- The changed rows arrive as the transition table "changed"; TG_ARGV[0] says
-- how they lead to their orders.
-- +goose StatementBegin
CREATE FUNCTION bump_order_pages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    CASE TG_ARGV[0]
    WHEN 'order' THEN
        UPDATE orders SET page_version = page_version + 1
        WHERE id IN (SELECT DISTINCT order_id FROM changed);
    WHEN 'shipment' THEN
        UPDATE orders SET page_version = page_version + 1
        WHERE id IN (SELECT DISTINCT s.order_id FROM shipments s WHERE s.id IN (SELECT shipment_id FROM changed));
    WHEN 'return' THEN
        UPDATE orders SET page_version = page_version + 1
        WHERE id IN (SELECT DISTINCT r.order_id FROM return_requests r WHERE r.id IN (SELECT return_id FROM changed));
    WHEN 'customer' THEN
        UPDATE orders SET page_version = page_version + 1
        WHERE customer_id IN (SELECT id FROM changed);
    END CASE;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER orders_page_version BEFORE UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION bump_order_page_version();

-- A trigger with a transition table serves one event, so each table gets
-- three.
-- +goose StatementBegin
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ('order_items', 'order'), ('order_refunds', 'order'), ('shipments', 'order'),
        ('return_requests', 'order'), ('reviews', 'order'),
        ('shipment_items', 'shipment'), ('tracking_events', 'shipment'),
        ('return_items', 'return'), ('return_photos', 'return'), ('return_events', 'return'),
        ('customers', 'customer')) AS v(tbl, via)
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS changed
            FOR EACH STATEMENT EXECUTE FUNCTION bump_order_pages(%L)', t.tbl || '_page_ins', t.tbl, t.via);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING NEW TABLE AS changed
            FOR EACH STATEMENT EXECUTE FUNCTION bump_order_pages(%L)', t.tbl || '_page_upd', t.tbl, t.via);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS changed
            FOR EACH STATEMENT EXECUTE FUNCTION bump_order_pages(%L)', t.tbl || '_page_del', t.tbl, t.via);
    END LOOP;
    FOR t IN SELECT * FROM (VALUES
        ('settings', 'settings'), ('store_settings', 'settings'),
        ('products', 'catalog'), ('product_pairings', 'catalog'), ('staff', 'catalog')) AS v(tbl, epoch)
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I
            FOR EACH STATEMENT EXECUTE FUNCTION bump_cache_epoch(%L)', t.tbl || '_cache_epoch', t.tbl, t.epoch);
    END LOOP;
END $$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['order_items', 'order_refunds', 'shipments', 'return_requests', 'reviews',
        'shipment_items', 'tracking_events', 'return_items', 'return_photos', 'return_events', 'customers']
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %I', t || '_page_ins', t);
        EXECUTE format('DROP TRIGGER %I ON %I', t || '_page_upd', t);
        EXECUTE format('DROP TRIGGER %I ON %I', t || '_page_del', t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['settings', 'store_settings', 'products', 'product_pairings', 'staff']
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %I', t || '_cache_epoch', t);
    END LOOP;
END $$;
-- +goose StatementEnd
DROP TRIGGER orders_page_version ON orders;
DROP FUNCTION bump_order_pages();
DROP FUNCTION bump_order_page_version();
DROP FUNCTION bump_cache_epoch();
DROP TABLE cache_epochs;
ALTER TABLE orders DROP COLUMN page_version;
