-- +goose Up
-- Every email with a sign-in link stores a login token, thousands a second
-- when the journey sends in batches. The token's foreign key locked its
-- customer's row (FOR KEY SHARE) for each one: a heap write with its WAL
-- on a random page of customers per email, which made the token insert
-- the costliest statement of a delivery batch after the messages update.
-- The writer (auth.Links.IssueMany) joins customers instead and fails when
-- one is missing, as the constraint did, and a statement-level trigger
-- keeps what ON DELETE CASCADE did (erasure also deletes them itself).
ALTER TABLE login_tokens DROP CONSTRAINT login_tokens_customer_id_fkey;

-- +goose StatementBegin
CREATE FUNCTION login_tokens_forget_customers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM login_tokens t USING gone WHERE t.customer_id = gone.id;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER customers_forget_login_tokens AFTER DELETE ON customers
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION login_tokens_forget_customers();

-- +goose Down
DROP TRIGGER customers_forget_login_tokens ON customers;
DROP FUNCTION login_tokens_forget_customers();
DELETE FROM login_tokens t WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = t.customer_id);
ALTER TABLE login_tokens ADD CONSTRAINT login_tokens_customer_id_fkey
    FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE;
