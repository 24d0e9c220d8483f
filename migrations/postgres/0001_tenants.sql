-- +goose Up
-- The tenant registry. It is the one table without tenant_id: it is what tenant_id points at.
-- It is read to resolve a slug at login, so it holds no tenant's private data.
CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The role every tenant transaction runs as (SET LOCAL ROLE): it owns nothing and does not
-- bypass row-level security. The role is cluster-wide, so concurrent creation is tolerated.
-- +goose StatementBegin
DO $$
BEGIN
    CREATE ROLE atelier_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;
-- +goose StatementEnd
GRANT atelier_app TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO atelier_app;
GRANT SELECT, INSERT, UPDATE ON tenants TO atelier_app;
