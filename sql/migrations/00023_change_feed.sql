-- +goose Up
-- The change feed (issue 8): every change that can make an instance's
-- memory of a signed-in request wrong is announced on the channel
-- aftercare_changes, in the writing transaction, so that instances can
-- answer the order page without reading the database when nothing it
-- depends on has changed (internal/changefeed, internal/auth/memo.go).
--
-- A notification is delivered at commit, in commit order, to every
-- listening session; one that is rolled back is never delivered. Payloads:
--
--   o<id>,<id>,...    orders whose page_version or customer moved, or that
--                     went (orders_page_version moves page_version with
--                     every update, and 00013/00014's triggers update the
--                     order for every change to what its page shows)
--   c<id>,...         customers whose page_version moved, or who went
--   s<hex>,...        sessions (SHA-256 of the id, in hex) deleted, or
--                     changed other than by sliding their expiry forward
--   e                 the cache epochs (settings, catalog) moved
--   *                 anything may have changed (TRUNCATE, or more rows in
--                     one statement than are worth naming)
--
-- Instances also send f<instance>:<n> themselves (fences, see
-- internal/changefeed). A payload stays under PostgreSQL's 8000 bytes: ids
-- go 400 and hashes 100 to a notification.

-- +goose StatementBegin
CREATE FUNCTION notify_changed_ids() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    SELECT count(*) INTO n FROM changed;
    IF n > 100000 THEN
        PERFORM pg_notify('aftercare_changes', '*');
    ELSIF n > 0 THEN
        PERFORM pg_notify('aftercare_changes', TG_ARGV[0] || string_agg(id::text, ','))
        FROM (SELECT id, (row_number() OVER ()) / 400 AS chunk FROM changed) x
        GROUP BY chunk;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION notify_changed_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    SELECT count(*) INTO n FROM changed;
    IF n > 100000 THEN
        PERFORM pg_notify('aftercare_changes', '*');
    ELSIF n > 0 THEN
        PERFORM pg_notify('aftercare_changes', 's' || string_agg(encode(id_hash, 'hex'), ','))
        FROM (SELECT id_hash, (row_number() OVER ()) / 100 AS chunk FROM changed) x
        GROUP BY chunk;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- Rows updated one at a time where most updates are not worth a word (a
-- customer's page_version moves only with their name; a session's row
-- moves with every sliding of its expiry): a row trigger whose WHEN
-- PostgreSQL checks without calling anything.
-- +goose StatementBegin
CREATE FUNCTION notify_changed_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_ARGV[0] = 's' THEN
        PERFORM pg_notify('aftercare_changes', 's' || encode(OLD.id_hash, 'hex'));
    ELSE
        PERFORM pg_notify('aftercare_changes', TG_ARGV[0] || OLD.id::text);
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION notify_changed_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('aftercare_changes', TG_ARGV[0]);
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER orders_feed_upd AFTER UPDATE ON orders REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION notify_changed_ids('o');
CREATE TRIGGER orders_feed_del AFTER DELETE ON orders REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION notify_changed_ids('o');
CREATE TRIGGER orders_feed_trunc AFTER TRUNCATE ON orders
    FOR EACH STATEMENT EXECUTE FUNCTION notify_changed_all('*');

CREATE TRIGGER customers_feed_upd AFTER UPDATE ON customers FOR EACH ROW
    WHEN (OLD.page_version IS DISTINCT FROM NEW.page_version)
    EXECUTE FUNCTION notify_changed_row('c');
CREATE TRIGGER customers_feed_del AFTER DELETE ON customers REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION notify_changed_ids('c');
CREATE TRIGGER customers_feed_trunc AFTER TRUNCATE ON customers
    FOR EACH STATEMENT EXECUTE FUNCTION notify_changed_all('*');

CREATE TRIGGER sessions_feed_upd AFTER UPDATE ON sessions FOR EACH ROW
    WHEN (OLD.id_hash IS DISTINCT FROM NEW.id_hash OR OLD.customer_id IS DISTINCT FROM NEW.customer_id
          OR NEW.expires_at < OLD.expires_at)
    EXECUTE FUNCTION notify_changed_row('s');
CREATE TRIGGER sessions_feed_del AFTER DELETE ON sessions REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION notify_changed_sessions();
CREATE TRIGGER sessions_feed_trunc AFTER TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION notify_changed_all('*');

CREATE TRIGGER cache_epochs_feed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON cache_epochs
    FOR EACH STATEMENT EXECUTE FUNCTION notify_changed_all('e');

-- +goose Down
DROP TRIGGER cache_epochs_feed ON cache_epochs;
DROP TRIGGER sessions_feed_trunc ON sessions;
DROP TRIGGER sessions_feed_del ON sessions;
DROP TRIGGER sessions_feed_upd ON sessions;
DROP TRIGGER customers_feed_trunc ON customers;
DROP TRIGGER customers_feed_del ON customers;
DROP TRIGGER customers_feed_upd ON customers;
DROP TRIGGER orders_feed_trunc ON orders;
DROP TRIGGER orders_feed_del ON orders;
DROP TRIGGER orders_feed_upd ON orders;
DROP FUNCTION notify_changed_all();
DROP FUNCTION notify_changed_row();
DROP FUNCTION notify_changed_sessions();
DROP FUNCTION notify_changed_ids();
