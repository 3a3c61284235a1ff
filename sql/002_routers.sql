-- MikroTik routers: the registry the workers connect to.
-- Applied by `mikrobill-worker migrate` in one transaction.
--
-- password_enc is never the password: it is base64 of
-- version byte | 12-byte nonce | AES-256-GCM ciphertext | 16-byte tag,
-- sealed with the key file named by the worker's secret_key_file (outside
-- the database) and the associated data "router:password"
-- (ngx_mikrobill_secret.c).  A database dump alone does not give the
-- routers away.

CREATE TABLE routers (
    id                 uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name               text        NOT NULL
                       CHECK (name <> '' AND length(name) <= 64),
    host               text        NOT NULL
                       CHECK (host <> '' AND length(host) <= 253),
    -- NULL on insert means the default for the transport (trigger below)
    port               integer     NOT NULL
                       CHECK (port BETWEEN 1 AND 65535),
    username           text        NOT NULL
                       CHECK (username <> '' AND length(username) <= 128),
    password_enc       text        NOT NULL,
    tls                boolean     NOT NULL DEFAULT false,
    -- verify the router's certificate chain and host name against
    -- tls_ca_file; without it API-SSL is encrypted but unauthenticated
    tls_verify         boolean     NOT NULL DEFAULT false,
    tls_ca_file        text,
    -- RouterOS API-SSL without a certificate offers anonymous DH only:
    -- encrypted but unauthenticated, so only when the operator opts in
    tls_allow_anon_dh  boolean     NOT NULL DEFAULT false,
    enabled            boolean     NOT NULL DEFAULT true,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (NOT tls_verify OR (tls AND tls_ca_file IS NOT NULL)),
    CHECK (tls_ca_file IS NULL OR tls_ca_file <> ''),
    CHECK (NOT tls_allow_anon_dh OR tls)
);

-- names are unique regardless of case
CREATE UNIQUE INDEX routers_name_key ON routers (lower(name));


-- port defaults to 8728, or 8729 for API-SSL; updated_at follows changes
CREATE FUNCTION routers_defaults() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.port IS NULL THEN
        NEW.port := CASE WHEN NEW.tls THEN 8729 ELSE 8728 END;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER routers_defaults BEFORE INSERT OR UPDATE ON routers
    FOR EACH ROW EXECUTE FUNCTION routers_defaults();


-- Workers LISTEN on mikrobill_routers and reload the registry when told;
-- the payload is the router id (a hint only: workers re-read every enabled
-- row, and also reload every router_reload_s seconds in case a
-- notification was missed while their connection was down).
CREATE FUNCTION routers_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mikrobill_routers',
                      CASE WHEN TG_OP = 'DELETE' THEN OLD.id::text
                           ELSE NEW.id::text END);
    RETURN NULL;
END
$$;

CREATE TRIGGER routers_notify AFTER INSERT OR UPDATE OR DELETE ON routers
    FOR EACH ROW EXECUTE FUNCTION routers_notify();
