-- +goose Up
-- Order page views and share-link visits are append-only analytics written
-- in batches, thousands a second on a busy store. Their foreign keys made
-- every inserted row lock its order or code row (FOR KEY SHARE): a write to
-- a hot parent row per view, with its WAL, which cost PostgreSQL more than
-- serving the page itself. Their writers insert only rows whose parent
-- exists (they join it), and no reader looks at a view or visit without its
-- order or code, so the constraint is dropped; statement-level triggers keep
-- what ON DELETE CASCADE did, in one pass per deleting statement.
ALTER TABLE tracking_views DROP CONSTRAINT tracking_views_order_id_fkey;
ALTER TABLE referral_visits DROP CONSTRAINT referral_visits_code_id_fkey;

-- +goose StatementBegin
CREATE FUNCTION tracking_views_forget_orders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM tracking_views v USING gone WHERE v.order_id = gone.id;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER orders_forget_views AFTER DELETE ON orders
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION tracking_views_forget_orders();

-- +goose StatementBegin
CREATE FUNCTION referral_visits_forget_codes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM referral_visits v USING gone WHERE v.code_id = gone.id;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER referral_codes_forget_visits AFTER DELETE ON referral_codes
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION referral_visits_forget_codes();

-- +goose Down
DROP TRIGGER referral_codes_forget_visits ON referral_codes;
DROP FUNCTION referral_visits_forget_codes();
DROP TRIGGER orders_forget_views ON orders;
DROP FUNCTION tracking_views_forget_orders();
DELETE FROM referral_visits v WHERE NOT EXISTS (SELECT 1 FROM referral_codes c WHERE c.id = v.code_id);
DELETE FROM tracking_views v WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = v.order_id);
ALTER TABLE referral_visits ADD CONSTRAINT referral_visits_code_id_fkey
    FOREIGN KEY (code_id) REFERENCES referral_codes (id) ON DELETE CASCADE;
ALTER TABLE tracking_views ADD CONSTRAINT tracking_views_order_id_fkey
    FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE;
