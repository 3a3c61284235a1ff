-- Accounts, sessions and login throttling.
-- Applied by `mikrobill-worker migrate` in one transaction.

CREATE TABLE users (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    username       text        NOT NULL,
    full_name      text        NOT NULL DEFAULT '',
    password_hash  text        NOT NULL,
    role           text        NOT NULL
                   CHECK (role IN ('SUPERADMIN', 'ADMIN', 'TECHNICIAN', 'USER')),
    -- a USER account belongs to one WhatsApp outlet (outlets come later)
    outlet_id      uuid,
    active         boolean     NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- usernames are unique regardless of case
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

-- a session token is never stored, only its SHA-256
CREATE TABLE sessions (
    token_hash     text        PRIMARY KEY,
    user_id        uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_hash      text        NOT NULL,
    client_addr    text        NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- failed logins per username ('user') and per client address ('addr')
CREATE TABLE login_failures (
    scope          text        NOT NULL CHECK (scope IN ('user', 'addr')),
    key            text        NOT NULL,
    failures       integer     NOT NULL DEFAULT 0,
    window_start   timestamptz NOT NULL DEFAULT now(),
    locked_until   timestamptz,
    PRIMARY KEY (scope, key)
);
