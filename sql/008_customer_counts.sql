-- How many customers there are by the columns the customers list filters
-- on (router, service type, account status, connection status), kept by
-- statement-level triggers.  Every list page answers with its total, and
-- count(*) over 50,000 customers (a sequential scan of the table the sync
-- keeps half-empty, see 004) was 95% of such a request; an unsearched
-- list now adds up a handful of these rows.  A search still counts its
-- matches, through the trigram index.  Applied by `mikrobill-worker
-- migrate`.

CREATE TABLE customer_counts (
    router_id     uuid,                 -- null: customers without a router
    service_type  text   NOT NULL,
    status        text   NOT NULL,
    conn_status   text   NOT NULL,
    n             bigint NOT NULL,
    UNIQUE NULLS NOT DISTINCT (router_id, service_type, status, conn_status)
);

-- One call per statement, whatever the number of rows it wrote (a sync
-- writes thousands in one): the rows it added minus the rows it removed,
-- by group.  Groups are written in key order so that two writers lock
-- them in the same order and cannot deadlock each other.  A router's
-- deletion sets its customers' router_id to null with an UPDATE, which
-- comes through here too.
CREATE FUNCTION customer_counts_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO customer_counts AS k
            (router_id, service_type, status, conn_status, n)
        SELECT router_id, service_type, status, conn_status, count(*)
        FROM new_rows
        GROUP BY 1, 2, 3, 4
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (router_id, service_type, status, conn_status)
        DO UPDATE SET n = k.n + EXCLUDED.n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO customer_counts AS k
            (router_id, service_type, status, conn_status, n)
        SELECT router_id, service_type, status, conn_status, sum(d)
        FROM (SELECT router_id, service_type, status, conn_status, 1 AS d
              FROM new_rows
              UNION ALL
              SELECT router_id, service_type, status, conn_status, -1
              FROM old_rows) delta
        GROUP BY 1, 2, 3, 4
        HAVING sum(d) <> 0
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (router_id, service_type, status, conn_status)
        DO UPDATE SET n = k.n + EXCLUDED.n;
    ELSE
        UPDATE customer_counts k
        SET n = k.n - o.n
        FROM (SELECT router_id, service_type, status, conn_status,
                     count(*) AS n
              FROM old_rows
              GROUP BY 1, 2, 3, 4) o
        WHERE k.router_id IS NOT DISTINCT FROM o.router_id
          AND k.service_type = o.service_type
          AND k.status = o.status
          AND k.conn_status = o.conn_status;
    END IF;
    -- groups left empty (a deleted router's, say) go
    DELETE FROM customer_counts WHERE n = 0;
    RETURN NULL;
END
$$;

CREATE FUNCTION customer_counts_clear() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM customer_counts;
    RETURN NULL;
END
$$;

-- no customer may be written while the counts start
LOCK TABLE customers IN SHARE MODE;

INSERT INTO customer_counts (router_id, service_type, status, conn_status, n)
SELECT router_id, service_type, status, conn_status, count(*)
FROM customers
GROUP BY 1, 2, 3, 4;

CREATE TRIGGER customer_counts_insert AFTER INSERT ON customers
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customer_counts_apply();
CREATE TRIGGER customer_counts_update AFTER UPDATE ON customers
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customer_counts_apply();
CREATE TRIGGER customer_counts_delete AFTER DELETE ON customers
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customer_counts_apply();
CREATE TRIGGER customer_counts_truncate AFTER TRUNCATE ON customers
    FOR EACH STATEMENT EXECUTE FUNCTION customer_counts_clear();
