-- +goose Up
-- Two writes that cost the order page more than they had to (issue 8).
--
-- 1. Order page views are appended in batches (portal.ViewRecorder), one
--    row per view, and only ever counted by viewed_at (the dashboard) or
--    deleted with their order (00016). Their bigserial id was never read:
--    each view paid a sequence call, 8 bytes, and an insertion into the
--    primary key's index with its WAL. Dropping the column drops its
--    primary key and its sequence (IF EXISTS: a draft of this migration,
--    applied to development clusters, dropped it alone).
ALTER TABLE tracking_views DROP COLUMN IF EXISTS id;

-- 2. The cache epochs (00013) moved with every statement on their tables,
--    even one that changed no row. A catalog sync that sends its products
--    again (PUT /api/v1/products/{sku}) upserts each with ON CONFLICT ... DO
--    UPDATE ... WHERE <changed>, which changes nothing for an unchanged
--    product but fired both the INSERT and the UPDATE statement triggers:
--    each such call made every instance render every kept order page again.
--    The epochs now move when a statement changed at least one row
--    (transition tables), still in the writing transaction; TRUNCATE,
--    which has none, always moves them.
-- +goose StatementBegin
CREATE FUNCTION bump_cache_epoch_if_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed) THEN
        UPDATE cache_epochs SET epoch = epoch + 1 WHERE name = TG_ARGV[0];
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ('settings', 'settings'), ('store_settings', 'settings'),
        ('products', 'catalog'), ('product_pairings', 'catalog'), ('staff', 'catalog')) AS v(tbl, epoch)
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %I', t.tbl || '_cache_epoch', t.tbl);
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS changed
            FOR EACH STATEMENT EXECUTE FUNCTION bump_cache_epoch_if_changed(%L)', t.tbl || '_cache_epoch_ins', t.tbl, t.epoch);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING NEW TABLE AS changed
            FOR EACH STATEMENT EXECUTE FUNCTION bump_cache_epoch_if_changed(%L)', t.tbl || '_cache_epoch_upd', t.tbl, t.epoch);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS changed
            FOR EACH STATEMENT EXECUTE FUNCTION bump_cache_epoch_if_changed(%L)', t.tbl || '_cache_epoch_del', t.tbl, t.epoch);
        EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %I
            FOR EACH STATEMENT EXECUTE FUNCTION bump_cache_epoch(%L)', t.tbl || '_cache_epoch_trunc', t.tbl, t.epoch);
    END LOOP;
END $$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ('settings', 'settings'), ('store_settings', 'settings'),
        ('products', 'catalog'), ('product_pairings', 'catalog'), ('staff', 'catalog')) AS v(tbl, epoch)
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %I', t.tbl || '_cache_epoch_ins', t.tbl);
        EXECUTE format('DROP TRIGGER %I ON %I', t.tbl || '_cache_epoch_upd', t.tbl);
        EXECUTE format('DROP TRIGGER %I ON %I', t.tbl || '_cache_epoch_del', t.tbl);
        EXECUTE format('DROP TRIGGER %I ON %I', t.tbl || '_cache_epoch_trunc', t.tbl);
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I
            FOR EACH STATEMENT EXECUTE FUNCTION bump_cache_epoch(%L)', t.tbl || '_cache_epoch', t.tbl, t.epoch);
    END LOOP;
END $$;
-- +goose StatementEnd
DROP FUNCTION bump_cache_epoch_if_changed();
ALTER TABLE tracking_views ADD COLUMN id bigserial PRIMARY KEY;
