-- The name of a customer's session as the router spells it.  The sync
-- matches PPPoE and hotspot names case-insensitively (spec 000), but
-- RouterOS names the session's interface <pppoe-NAME> with the router's
-- own spelling: a customer stored as "Citra" whose session is "citra" is
-- monitored on <pppoe-citra> (docs/monitor.md).  Written by mb_sync_apply
-- with the other live columns; NULL while offline.

ALTER TABLE customers ADD COLUMN session_name text;

-- mb_sync_apply of sql/004, now also keeping session_name.
CREATE OR REPLACE FUNCTION mb_sync_apply(p_router uuid, p_kind text[],
    p_name text[], p_addr text[], p_uptime text[], p_caller text[],
    p_start bigint[], p_trigger text, p_started timestamptz, p_interval integer,
    p_identity text, p_version text,
    OUT changed integer, OUT customers_online integer,
    OUT active_connections integer, OUT at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    prev timestamptz;
BEGIN
    at := now();
    active_connections := coalesce(cardinality(p_name), 0);

    SELECT last_sync_at INTO prev
    FROM router_status WHERE router_id = p_router;

    -- One statement, the sessions parsed once: the matched customers
    -- and the others are two updates that each scan customers once (a
    -- LEFT JOIN would need a self-join of customers in UPDATE ... FROM).
    -- (a name twice on the router, two sessions: UPDATE ... FROM uses one
    -- of them, which is all the customer needs)
    WITH s AS MATERIALIZED (
        SELECT x.k, lower(x.n) AS n, x.n AS name, x.a::inet AS a, x.u, x.c,
               to_timestamp(x.t) AS t
        FROM unnest(p_kind, p_name, p_addr, p_uptime, p_caller, p_start)
             AS x(k, n, a, u, c, t)
        WHERE x.n IS NOT NULL
    ), online AS (
        UPDATE customers c
        SET conn_status = 'online',
            session_name = s.name,
            session_address = s.a,
            uptime = s.u,
            session_started_at = s.t,
            caller_id = coalesce(s.c, c.caller_id),
            last_seen_at = at,
            status_changed_at = CASE WHEN c.conn_status <> 'online' THEN at
                                     ELSE c.status_changed_at END,
            updated_at = at
        FROM s
        WHERE c.router_id = p_router
          AND c.service_type = s.k
          AND lower(c.pppoe_username) = s.n
          AND (c.conn_status <> 'online'
               OR c.session_name IS DISTINCT FROM s.name
               OR c.session_address IS DISTINCT FROM s.a
               OR (s.c IS NOT NULL AND c.caller_id IS DISTINCT FROM s.c)
               OR CASE WHEN s.t IS NULL OR c.session_started_at IS NULL
                       THEN c.uptime IS DISTINCT FROM s.u
                       -- the same session: its start moves by rounding
                       ELSE abs(extract(epoch FROM
                                c.session_started_at - s.t)) > 3 END)
        RETURNING 1
    ), offline AS (
        UPDATE customers c
        SET conn_status = 'offline',
            session_name = NULL,
            session_address = NULL,
            uptime = NULL,
            session_started_at = NULL,
            last_seen_at = CASE WHEN c.conn_status = 'online'
                                THEN coalesce(prev, c.last_seen_at)
                                ELSE c.last_seen_at END,
            status_changed_at = CASE WHEN c.conn_status <> 'offline' THEN at
                                     ELSE c.status_changed_at END,
            updated_at = at
        WHERE c.router_id = p_router
          AND c.service_type IN ('pppoe', 'hotspot')
          AND (c.conn_status <> 'offline' OR c.session_name IS NOT NULL
               OR c.session_address IS NOT NULL
               OR c.uptime IS NOT NULL OR c.session_started_at IS NOT NULL)
          AND NOT EXISTS (SELECT 1 FROM s
                          WHERE s.k = c.service_type
                            AND s.n = lower(c.pppoe_username))
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM online) + (SELECT count(*) FROM offline)
    INTO changed;

    SELECT count(*) INTO customers_online
    FROM customers
    WHERE router_id = p_router AND conn_status = 'online';

    INSERT INTO router_status AS rs (router_id, connected, last_error,
        last_attempt_at, last_sync_at, active_connections,
        customers_online, interval_seconds, identity, version, updated_at)
    VALUES (p_router, true, NULL, at, at, active_connections,
        customers_online, p_interval, p_identity, p_version, at)
    ON CONFLICT (router_id) DO UPDATE
    SET connected = true, last_error = NULL, last_attempt_at = at,
        last_sync_at = at,
        active_connections = EXCLUDED.active_connections,
        customers_online = EXCLUDED.customers_online,
        interval_seconds = EXCLUDED.interval_seconds,
        identity = coalesce(EXCLUDED.identity, rs.identity),
        version = coalesce(EXCLUDED.version, rs.version),
        updated_at = at;

    INSERT INTO sync_runs (router_id, trigger, started_at, finished_at,
        active_connections, customers_online, changed)
    VALUES (p_router, p_trigger, p_started, clock_timestamp(),
        active_connections, customers_online, changed);
END
$$
-- Hash joins only, the sessions hashed in memory: the planner cannot see
-- the arrays' length in a cached generic plan (it assumes 10 elements) and
-- may join 50,000 customers to 10,000 sessions by nested loop (seconds);
-- knowing it, it may sort both sides on disk for a merge join (~100 ms).
SET enable_nestloop = off
SET enable_mergejoin = off
SET work_mem = '64MB';
