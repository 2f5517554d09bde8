-- +goose Up
-- Two costs of 00013 found by the set-based batch ingestion (issue 8):
--
-- 1. A renamed customer moved the page_version of every order of theirs, so
--    the customer's row was locked before their orders' rows, the opposite
--    of what order writers do (order, then customer): concurrent writers
--    could deadlock. The customer now has a page_version of their own, moved
--    only when the name (the one thing of theirs an order page shows)
--    changes, and the order page reads both.
-- 2. Lines inserted with a new order rewrote the order row their own
--    transaction had just inserted (a second heap and index write per new
--    order). A row written by the current transaction cannot be in any
--    cache yet (nobody else can see it, and an update of it already moved
--    its version), so the children's triggers now skip it.
ALTER TABLE customers ADD COLUMN page_version bigint NOT NULL DEFAULT 0;

DROP TRIGGER customers_page_ins ON customers;
DROP TRIGGER customers_page_upd ON customers;
DROP TRIGGER customers_page_del ON customers;

-- +goose StatementBegin
CREATE FUNCTION bump_customer_page_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.name IS DISTINCT FROM OLD.name THEN
        NEW.page_version := OLD.page_version + 1;
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd

CREATE TRIGGER customers_page_version BEFORE UPDATE ON customers
    FOR EACH ROW EXECUTE FUNCTION bump_customer_page_version();

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION bump_order_pages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    CASE TG_ARGV[0]
    WHEN 'order' THEN
        UPDATE orders SET page_version = page_version + 1
        WHERE id IN (SELECT DISTINCT order_id FROM changed) AND xmin <> pg_current_xact_id()::xid;
    WHEN 'shipment' THEN
        UPDATE orders SET page_version = page_version + 1
        WHERE id IN (SELECT DISTINCT s.order_id FROM shipments s WHERE s.id IN (SELECT shipment_id FROM changed))
          AND xmin <> pg_current_xact_id()::xid;
    WHEN 'return' THEN
        UPDATE orders SET page_version = page_version + 1
        WHERE id IN (SELECT DISTINCT r.order_id FROM return_requests r WHERE r.id IN (SELECT return_id FROM changed))
          AND xmin <> pg_current_xact_id()::xid;
    END CASE;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION bump_order_pages() RETURNS trigger LANGUAGE plpgsql AS $$
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
DROP TRIGGER customers_page_version ON customers;
DROP FUNCTION bump_customer_page_version();
CREATE TRIGGER customers_page_ins AFTER INSERT ON customers REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION bump_order_pages('customer');
CREATE TRIGGER customers_page_upd AFTER UPDATE ON customers REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION bump_order_pages('customer');
CREATE TRIGGER customers_page_del AFTER DELETE ON customers REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION bump_order_pages('customer');
ALTER TABLE customers DROP COLUMN page_version;
