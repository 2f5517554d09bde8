-- +goose Up
-- Found with the journey benchmark (issue 8): recording a sent email
-- rewrites its messages row with the rendered bodies, and that write was
-- most of PostgreSQL's own share of an email after River's.
--
-- 1. The bodies (an HTML body is about 5 KB) are compressed when stored;
--    lz4 does it in a fraction of pglz's CPU time, for a slightly larger
--    result. Only new values are written with lz4: older rows keep theirs,
--    and both read alike. A server built without lz4 keeps pglz (lz4 is in
--    the PostgreSQL builds of Debian, Ubuntu and the managed services).
-- 2. messages_status_idx indexed every message by status, but it is read
--    for the queued and failed ones (the digest's failures, what is still
--    waiting): sent messages, nearly all of millions, are left out of it,
--    and recording a sent email no longer adds an entry to it.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE messages ALTER COLUMN html_body SET COMPRESSION lz4, ALTER COLUMN text_body SET COMPRESSION lz4;
    END IF;
END
$$;
-- +goose StatementEnd
CREATE INDEX messages_unsent_idx ON messages (status, created_at) WHERE status <> 'sent';
DROP INDEX messages_status_idx;

-- +goose Down
CREATE INDEX messages_status_idx ON messages (status, created_at);
DROP INDEX messages_unsent_idx;
ALTER TABLE messages ALTER COLUMN html_body SET COMPRESSION default, ALTER COLUMN text_body SET COMPRESSION default;
