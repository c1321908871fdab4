-- The application's least-privilege PostgreSQL identity. Idempotent: run it as the master user
-- once per login, on every deployment and every password change, with psql variables
--   psql -v ON_ERROR_STOP=1 -v app_role=app -v app_login=app_a -v app_password=... \
--        -v app_schema=app -f application_role.sql
-- `app_role` owns the application's schema and everything in it, and cannot log in. Each login
-- (`app_a`, `app_b`: two, so that one can take a new password while the other serves, the
-- alternating-users rotation) is a member that becomes `app_role` as it logs in, so whatever
-- either login creates belongs to `app_role`. Neither is superuser, nor may it create roles or
-- databases, replicate, or bypass row-level security; other schemas stay closed to them
-- unless granted one by one.

SELECT format('CREATE ROLE %I NOLOGIN', :'app_role')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_role')
\gexec
ALTER ROLE :"app_role" WITH NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;

SELECT format('CREATE ROLE %I LOGIN', :'app_login')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_login')
\gexec
ALTER ROLE :"app_login" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT
    PASSWORD :'app_password';
GRANT :"app_role" TO :"app_login";
-- Every session of the login runs as the owner role, with the application's schema first.
SELECT format('ALTER ROLE %I SET role = %L', :'app_login', :'app_role')
\gexec
SELECT format('ALTER ROLE %I SET search_path = %I', :'app_login', :'app_schema')
\gexec

-- The application's schema, owned by the owner role.
SELECT format('CREATE SCHEMA %I AUTHORIZATION %I', :'app_schema', :'app_role')
WHERE NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = :'app_schema')
\gexec
SELECT format('ALTER SCHEMA %I OWNER TO %I', :'app_schema', :'app_role')
\gexec

-- The database: connect, and no new schemas.
SELECT format('GRANT CONNECT ON DATABASE %I TO %I, %I', current_database(), :'app_role', :'app_login')
\gexec
SELECT format('REVOKE CREATE ON DATABASE %I FROM %I, %I', current_database(), :'app_role', :'app_login')
\gexec
-- PostgreSQL 15 already takes CREATE on the public schema from PUBLIC; say so for older ones.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
