-- The sync's writes, as functions: the worker applies a whole run (the
-- customers, router_status and the sync_runs row) in one call, so one
-- round trip and one transaction, whatever the number of sessions.
-- Applied by `mikrobill-worker migrate`.

-- When the current session began (now - uptime at the fetch): the uptime
-- grows every second, so comparing it would rewrite every online customer
-- on every run; a session's start changes only with a new session.  The
-- live uptime is now() - session_started_at.
ALTER TABLE customers ADD COLUMN session_started_at timestamptz;

-- The sync rewrites conn_status and the session columns of thousands of
-- rows at once.  With no index on any of them and room left in each page,
-- those updates are HOT: no index entry is written (the trigram GIN index
-- would otherwise take most of the time).  conn_status has three values:
-- an index on it alone rarely beats a scan, and lists filter it together
-- with an indexed sort.  Half of each page is kept free because a sync may
-- rewrite every row of a page (customers added together, online
-- together), and each new version must fit beside the old one; 50,000
-- customers then take ~15 MB instead of ~8.
DROP INDEX customers_conn_status_idx;
ALTER TABLE customers SET (fillfactor = 50);

-- PostgreSQL evaluates every CHECK constraint of a row on every UPDATE,
-- whatever the columns set: the three regular expressions below took half
-- of the time of a sync writing 10,000 rows.  The same rules, same
-- SQLSTATE (23514) and constraint names, now run only when a statement
-- sets those columns (INSERT, or UPDATE OF them), which the sync never does.
CREATE FUNCTION customers_check_names() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.username !~ '^[A-Za-z0-9._@-]{3,64}$' THEN
        RAISE EXCEPTION 'new row for relation "customers" violates check '
            'constraint "customers_username_check"'
            USING ERRCODE = 'check_violation', TABLE = 'customers',
                  CONSTRAINT = 'customers_username_check';
    END IF;
    IF NEW.pppoe_username !~ '^[A-Za-z0-9._@-]{1,64}$' THEN
        RAISE EXCEPTION 'new row for relation "customers" violates check '
            'constraint "customers_pppoe_username_check"'
            USING ERRCODE = 'check_violation', TABLE = 'customers',
                  CONSTRAINT = 'customers_pppoe_username_check';
    END IF;
    IF NEW.phone !~ '^[1-9][0-9]{7,14}$' THEN
        RAISE EXCEPTION 'new row for relation "customers" violates check '
            'constraint "customers_phone_check"'
            USING ERRCODE = 'check_violation', TABLE = 'customers',
                  CONSTRAINT = 'customers_phone_check';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER customers_check_names
    BEFORE INSERT OR UPDATE OF username, pppoe_username, phone
    ON customers FOR EACH ROW EXECUTE FUNCTION customers_check_names();

ALTER TABLE customers
    DROP CONSTRAINT customers_username_check,
    DROP CONSTRAINT customers_pppoe_username_check,
    DROP CONSTRAINT customers_phone_check;

-- The sessions come as parallel arrays, one element per session (array
-- input parses several times faster than JSON for 10,000 sessions): kind
-- ("pppoe" | "hotspot"), name, address, uptime, caller-id or MAC, and the
-- session's start in Unix seconds (NULL: unknown).
-- Matched customers go online; every other PPPoE or hotspot customer of
-- the router goes offline (last_seen_at: the previous good sync, the last
-- time it was seen); static_ip customers are never touched.  Only rows
-- whose values differ are written.
CREATE FUNCTION mb_sync_apply(p_router uuid, p_kind text[],
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
        SELECT x.k, lower(x.n) AS n, x.a::inet AS a, x.u, x.c,
               to_timestamp(x.t) AS t
        FROM unnest(p_kind, p_name, p_addr, p_uptime, p_caller, p_start)
             AS x(k, n, a, u, c, t)
        WHERE x.n IS NOT NULL
    ), online AS (
        UPDATE customers c
        SET conn_status = 'online',
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
          AND (c.conn_status <> 'offline' OR c.session_address IS NOT NULL
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

-- A failed fetch: no customer changes; the router is marked unreachable
-- with the error (last_sync_at keeps the last good run).
CREATE FUNCTION mb_sync_failed(p_router uuid, p_error text,
    p_trigger text, p_started timestamptz, p_interval integer,
    OUT at timestamptz, OUT customers_online integer)
LANGUAGE plpgsql AS $$
BEGIN
    at := now();

    SELECT count(*) INTO customers_online
    FROM customers
    WHERE router_id = p_router AND conn_status = 'online';

    INSERT INTO router_status AS rs (router_id, connected, last_error,
        last_attempt_at, interval_seconds, updated_at)
    VALUES (p_router, false, p_error, at, p_interval, at)
    ON CONFLICT (router_id) DO UPDATE
    SET connected = false, last_error = EXCLUDED.last_error,
        last_attempt_at = at, interval_seconds = EXCLUDED.interval_seconds,
        updated_at = at;

    INSERT INTO sync_runs (router_id, trigger, started_at, finished_at,
        error)
    VALUES (p_router, p_trigger, p_started, clock_timestamp(), p_error);
END
$$;

-- The managed connection came up or went down.
CREATE FUNCTION mb_sync_conn_state(p_router uuid, p_connected boolean,
    p_error text, p_interval integer)
RETURNS void
LANGUAGE sql AS $$
    INSERT INTO router_status AS rs (router_id, connected, last_error,
        interval_seconds, updated_at)
    VALUES (p_router, p_connected, p_error, p_interval, now())
    ON CONFLICT (router_id) DO UPDATE
    SET connected = EXCLUDED.connected,
        last_error = CASE WHEN EXCLUDED.connected THEN rs.last_error
                          ELSE EXCLUDED.last_error END,
        interval_seconds = EXCLUDED.interval_seconds,
        updated_at = now()
$$;
