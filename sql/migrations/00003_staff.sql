-- +goose Up
-- Support staff who work in /admin. A NULL password_hash means the account
-- signs in by emailed link only. Disabled accounts are kept for the audit log.
CREATE TABLE staff (
    id              bigserial PRIMARY KEY,
    email           text NOT NULL CHECK (email = lower(btrim(email)) AND email <> ''),
    name            text NOT NULL CHECK (btrim(name) <> ''),
    role            text NOT NULL CHECK (role IN ('support', 'admin')),
    password_hash   text CHECK (password_hash LIKE '$argon2id$%'),
    created_at      timestamptz NOT NULL DEFAULT now(),
    disabled_at     timestamptz,
    last_sign_in_at timestamptz
);
CREATE UNIQUE INDEX staff_email_key ON staff (email);

-- Staff sessions: only the SHA-256 of the random id is stored. They last 12
-- hours from sign-in whatever the activity; the CHECK keeps any code path
-- from sliding them further.
CREATE TABLE staff_sessions (
    id_hash      bytea PRIMARY KEY,
    staff_id     bigint NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    ip           text NOT NULL DEFAULT '',
    user_agent   text NOT NULL DEFAULT '',
    CHECK (expires_at <= created_at + interval '12 hours')
);
CREATE INDEX staff_sessions_staff_idx ON staff_sessions (staff_id);
CREATE INDEX staff_sessions_expires_idx ON staff_sessions (expires_at);

-- Emailed sign-in links for staff: random tokens, only their SHA-256 kept,
-- spent once.
CREATE TABLE staff_login_tokens (
    token_hash bytea PRIMARY KEY,
    staff_id   bigint NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX staff_login_tokens_staff_idx ON staff_login_tokens (staff_id);
CREATE INDEX staff_login_tokens_expires_idx ON staff_login_tokens (expires_at);

-- The audit page filters by actor and action, and features show the history
-- of one subject (a return, a review); newest first.
CREATE INDEX audit_log_actor_idx ON audit_log (actor, id DESC);
CREATE INDEX audit_log_action_idx ON audit_log (action, id DESC);
CREATE INDEX audit_log_subject_idx ON audit_log (subject, id DESC);

-- +goose Down
DROP INDEX audit_log_subject_idx, audit_log_action_idx, audit_log_actor_idx;
DROP TABLE staff_login_tokens, staff_sessions, staff;
