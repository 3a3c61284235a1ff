-- There is always at least one active SUPERADMIN.
--
-- The users API checks this in its UPDATE/DELETE statements, but two
-- SUPERADMINs demoting each other at the same moment each see the other
-- still in place.  This trigger serializes every change that can remove a
-- SUPERADMIN on one advisory lock and counts again after taking it: in
-- READ COMMITTED that count sees the other transaction's committed change,
-- so the second one fails (SQLSTATE MBSA1) instead of leaving nobody.

CREATE FUNCTION users_keep_superadmin() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.role <> 'SUPERADMIN' OR NOT OLD.active THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.role = 'SUPERADMIN' AND NEW.active THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('mikrobill.users.superadmin'));
    IF NOT EXISTS (SELECT 1 FROM users
                   WHERE role = 'SUPERADMIN' AND active) THEN
        RAISE EXCEPTION 'the last active SUPERADMIN cannot be removed'
            USING ERRCODE = 'MBSA1';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_keep_superadmin
    AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION users_keep_superadmin();
