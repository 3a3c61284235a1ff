-- Customers, their live connection status, per-router live state and the
-- record of every sync run.  Applied by `mikrobill-worker migrate`.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE customers (
    id                 uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name               text        NOT NULL
                       CHECK (name <> '' AND length(name) <= 120),
    -- the customer's own login name in MikroBill (portal, reports)
    username           text        NOT NULL
                       CHECK (username ~ '^[A-Za-z0-9._@-]{3,64}$'),
    service_type       text        NOT NULL DEFAULT 'pppoe'
                       CHECK (service_type IN ('pppoe', 'hotspot',
                                               'static_ip')),
    -- the name on the router (/ppp/secret or the hotspot user)
    pppoe_username     text
                       CHECK (pppoe_username ~ '^[A-Za-z0-9._@-]{1,64}$'),
    -- sealed like routers.password_enc, associated data "customer:pppoe"
    pppoe_password_enc text,
    static_ip          inet,
    router_id          uuid        REFERENCES routers (id) ON DELETE SET NULL,
    profile            text        CHECK (length(profile) <= 64),
    -- WhatsApp number, normalized to 62...
    phone              text        CHECK (phone ~ '^[1-9][0-9]{7,14}$'),
    address            text        NOT NULL DEFAULT ''
                       CHECK (length(address) <= 500),
    latitude           double precision
                       CHECK (latitude BETWEEN -90 AND 90),
    longitude          double precision
                       CHECK (longitude BETWEEN -180 AND 180),
    status             text        NOT NULL DEFAULT 'active'
                       CHECK (status IN ('active', 'suspended', 'inactive')),

    -- live part, written by the sync
    conn_status        text        NOT NULL DEFAULT 'offline'
                       CHECK (conn_status IN ('online', 'offline',
                                              'unknown')),
    last_seen_at       timestamptz,
    session_address    inet,
    uptime             text,
    caller_id          text,
    status_changed_at  timestamptz,

    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((latitude IS NULL) = (longitude IS NULL))
);

CREATE UNIQUE INDEX customers_username_key ON customers (lower(username));
-- one router login name per router, whatever its case
CREATE UNIQUE INDEX customers_router_pppoe_key
    ON customers (router_id, lower(pppoe_username))
    WHERE pppoe_username IS NOT NULL;
CREATE INDEX customers_conn_status_idx ON customers (conn_status);
CREATE INDEX customers_service_type_idx ON customers (service_type);
CREATE INDEX customers_status_idx ON customers (status);
CREATE INDEX customers_name_idx ON customers (lower(name), id);
-- substring search on name, username and pppoe_username
CREATE INDEX customers_search_idx ON customers USING gin (
    (lower(name) || ' ' || lower(username) || ' '
     || lower(coalesce(pppoe_username, ''))) gin_trgm_ops);
CREATE INDEX customers_map_idx ON customers (id)
    WHERE latitude IS NOT NULL;

-- the live state of each router as the sync last saw it
CREATE TABLE router_status (
    router_id          uuid        PRIMARY KEY
                       REFERENCES routers (id) ON DELETE CASCADE,
    connected          boolean     NOT NULL DEFAULT false,
    last_error         text,
    last_attempt_at    timestamptz,
    last_sync_at       timestamptz,          -- last successful sync
    active_connections integer     NOT NULL DEFAULT 0,
    customers_online   integer     NOT NULL DEFAULT 0,
    interval_seconds   integer     NOT NULL DEFAULT 120,   -- the worker's
    identity           text,
    version            text,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sync_runs (
    id                 bigserial   PRIMARY KEY,
    router_id          uuid        NOT NULL
                       REFERENCES routers (id) ON DELETE CASCADE,
    trigger            text        NOT NULL DEFAULT 'schedule'
                       CHECK (trigger IN ('schedule', 'manual')),
    started_at         timestamptz NOT NULL,
    finished_at        timestamptz,
    active_connections integer,
    customers_online   integer,
    changed            integer,
    error              text
);

CREATE INDEX sync_runs_router_started_idx
    ON sync_runs (router_id, started_at DESC);
