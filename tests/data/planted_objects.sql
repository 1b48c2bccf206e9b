-- Objects a non-superuser who can create in `public` (on PostgreSQL 15, the database owner)
-- plants to capture calls that resolve names through the search path: exact-type overloads win
-- over pg_catalog's polymorphic functions, and with `public` before `pg_catalog` in a path even
-- same-signature functions and operators win. Each records that it ran, and with whose rights.
-- Run as the planting role by src/tests/security.rs and tests/e2e/security.rs.
CREATE TABLE public.ws_hijacked (what text, by_superuser boolean);
GRANT INSERT ON public.ws_hijacked TO PUBLIC;
CREATE FUNCTION public.ws_hijack(what text) RETURNS void LANGUAGE sql
    AS $$ INSERT INTO public.ws_hijacked
          SELECT what, r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) current_user $$;
CREATE FUNCTION public.unnest(uuid[]) RETURNS SETOF uuid LANGUAGE sql
    AS $$ SELECT public.ws_hijack('unnest(uuid[])'); SELECT NULL::uuid WHERE false $$;
CREATE FUNCTION public.unnest(text[]) RETURNS SETOF text LANGUAGE sql
    AS $$ SELECT public.ws_hijack('unnest(text[])'); SELECT NULL::text WHERE false $$;
CREATE FUNCTION public.unnest(bigint[], timestamptz[], boolean[], uuid[])
    RETURNS TABLE (a bigint, b timestamptz, c boolean, d uuid) LANGUAGE sql
    AS $$ SELECT public.ws_hijack('unnest(4 arrays)');
          SELECT NULL::bigint, NULL::timestamptz, NULL::boolean, NULL::uuid WHERE false $$;
CREATE FUNCTION public.array_agg(text) RETURNS text[] LANGUAGE sql
    AS $$ SELECT public.ws_hijack('array_agg(text)'); SELECT ARRAY[]::text[] $$;
CREATE FUNCTION public.pg_has_role(oid, oid, text) RETURNS boolean LANGUAGE sql
    AS $$ SELECT public.ws_hijack('pg_has_role'); SELECT true $$;
CREATE FUNCTION public.pg_notify(text, text) RETURNS void LANGUAGE sql
    AS $$ SELECT public.ws_hijack('pg_notify') $$;
CREATE FUNCTION public.jsonb_build_object(VARIADIC text[]) RETURNS jsonb LANGUAGE sql
    AS $$ SELECT public.ws_hijack('jsonb_build_object'); SELECT '{}'::jsonb $$;
CREATE FUNCTION public.ws_uuid_eq(uuid, uuid) RETURNS boolean LANGUAGE sql
    AS $$ SELECT public.ws_hijack('=(uuid,uuid)'); SELECT $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR public.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = public.ws_uuid_eq);
CREATE FUNCTION public.ws_timestamptz_le(timestamptz, timestamptz) RETURNS boolean LANGUAGE sql
    AS $$ SELECT public.ws_hijack('<=(timestamptz,timestamptz)'); SELECT $1 OPERATOR(pg_catalog.<=) $2 $$;
CREATE OPERATOR public.<= (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = public.ws_timestamptz_le);
