-- The application's least-privilege PostgreSQL role. Idempotent: run it as the master user
-- on every deployment and on every password rotation, with psql variables
--   psql -v ON_ERROR_STOP=1 -v app_role=app -v app_password=... -v app_schema=app -f application_role.sql
-- The role logs in and owns its own schema (so its migrations run there), and nothing else:
-- no superuser, no CREATEROLE, no CREATEDB, no replication, no RLS bypass, no membership in the
-- master's roles; other schemas stay closed to it unless granted one by one.

SELECT format('CREATE ROLE %I LOGIN', :'app_role')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_role')
\gexec

ALTER ROLE :"app_role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT
    PASSWORD :'app_password';

-- Its own schema, owned by it; the search path finds its tables there first.
SELECT format('CREATE SCHEMA %I AUTHORIZATION %I', :'app_schema', :'app_role')
WHERE NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = :'app_schema')
\gexec
SELECT format('ALTER SCHEMA %I OWNER TO %I', :'app_schema', :'app_role')
\gexec
SELECT format('ALTER ROLE %I SET search_path = %I', :'app_role', :'app_schema')
\gexec

-- The database: connect, no new schemas, no temporary tables beyond what PUBLIC already has.
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'app_role')
\gexec
SELECT format('REVOKE CREATE ON DATABASE %I FROM %I', current_database(), :'app_role')
\gexec
-- PostgreSQL 15 already takes CREATE on the public schema from PUBLIC; say so for older ones.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
