-- The live uptime of a session, RouterOS style ("1w2d3h4m5s"), from when it
-- started.  The sync stores the start (sql/004), not the ever-growing
-- uptime text, so the API computes the uptime when it answers.

CREATE FUNCTION mb_uptime(started timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    WITH s AS (
        SELECT greatest(0, floor(extract(epoch FROM now() - started)))::bigint
               AS t
    )
    SELECT CASE WHEN t = 0 THEN '0s' ELSE
           CASE WHEN t >= 604800 THEN (t / 604800) || 'w' ELSE '' END
        || CASE WHEN t % 604800 >= 86400
                THEN (t % 604800 / 86400) || 'd' ELSE '' END
        || CASE WHEN t % 86400 >= 3600
                THEN (t % 86400 / 3600) || 'h' ELSE '' END
        || CASE WHEN t % 3600 >= 60 THEN (t % 3600 / 60) || 'm' ELSE '' END
        || CASE WHEN t % 60 > 0 THEN (t % 60) || 's' ELSE '' END
           END
    FROM s
$$;
