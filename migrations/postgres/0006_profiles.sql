-- +goose Up
-- Profiles: typed, validated policy bundles, assigned to tree nodes (at most one per type per node).
CREATE TABLE profiles (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    type         text NOT NULL,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description  text NOT NULL DEFAULT '',
    settings     jsonb NOT NULL DEFAULT '{}'::jsonb,
    owner_id     uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX profiles_tenant_type_name_key ON profiles (tenant_id, type, lower(name));

-- node is 'tenant' or 'ws:<id>' (later 'board:<id>'); workspace_id lets a workspace's assignments
-- die with it.
CREATE TABLE profile_assignments (
    tenant_id     uuid NOT NULL,
    node          text NOT NULL,
    type          text NOT NULL,
    profile_id    uuid NOT NULL,
    workspace_id  uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, node, type),
    FOREIGN KEY (tenant_id, profile_id) REFERENCES profiles (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX profile_assignments_profile_idx ON profile_assignments (tenant_id, profile_id);

ALTER TABLE profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE profiles FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON profiles
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
ALTER TABLE profile_assignments ENABLE ROW LEVEL SECURITY;
ALTER TABLE profile_assignments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON profile_assignments
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE, DELETE ON profiles, profile_assignments TO atelier_app;
