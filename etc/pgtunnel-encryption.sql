-- Encryption checks that tell the truth through pgtunnel serve (see docs/serve.md).
-- Behind the gateway, pg_stat_ssl describes the gateway's leg to the server (often a unix
-- socket, so ssl = f); the gateway reports the client's own leg in pgtunnel.ssl. A session
-- that did not come through the gateway has no pgtunnel.ssl and is judged by pg_stat_ssl.
-- Trust pgtunnel.* only if clients cannot reach the server except through the gateway.

-- Whether this session's client connection is encrypted, directly or through the gateway.
CREATE OR REPLACE FUNCTION public.pgtunnel_session_encrypted() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog
AS $$
  SELECT coalesce(
    nullif(current_setting('pgtunnel.ssl', true), '')::boolean,
    (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()),
    false)
$$;

-- PostgreSQL 17+: refuse unencrypted sessions at login. Create it in each database (and in
-- template1 for future ones). To get back in if it locks you out, connect as a superuser with
-- PGOPTIONS='-c event_triggers=off'.
CREATE OR REPLACE FUNCTION public.pgtunnel_refuse_unencrypted() RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
BEGIN
  IF NOT public.pgtunnel_session_encrypted() THEN
    RAISE EXCEPTION 'unencrypted connections are not allowed to database "%"', current_database()
      USING ERRCODE = 'invalid_authorization_specification',
            HINT = 'Connect with TLS (sslmode=require or stronger), directly or through pgtunnel.';
  END IF;
END
$$;

CREATE EVENT TRIGGER pgtunnel_require_encryption ON login
  EXECUTE FUNCTION public.pgtunnel_refuse_unencrypted();
