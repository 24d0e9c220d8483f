-- +goose Up
-- The workspace tree. Sign-up creates the root `default` workspace; the tree's routes come with
-- the authorization core. path is the slugs from the root down, joined by '/'.
CREATE TABLE workspaces (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    parent_id    uuid,
    slug         text NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    path         text NOT NULL,
    short_name   text NOT NULL DEFAULT '',
    description  text NOT NULL DEFAULT '',
    icon         text NOT NULL DEFAULT '',
    color        text NOT NULL DEFAULT '',
    owner_id     uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES workspaces (tenant_id, id)
);
CREATE UNIQUE INDEX workspaces_tenant_path_key ON workspaces (tenant_id, path);
CREATE INDEX workspaces_parent_idx ON workspaces (tenant_id, parent_id);

ALTER TABLE workspaces ENABLE ROW LEVEL SECURITY;
ALTER TABLE workspaces FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON workspaces
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE, DELETE ON workspaces TO atelier_app;
