-- +goose Up
CREATE TABLE profiles (
    tenant_id    text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           text NOT NULL,
    type         text NOT NULL,
    name         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    settings     text NOT NULL DEFAULT '{}',
    owner_id     text,
    created_at   datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at   datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX profiles_tenant_type_name_key ON profiles (tenant_id, type, lower(name));

CREATE TABLE profile_assignments (
    tenant_id     text NOT NULL,
    node          text NOT NULL,
    type          text NOT NULL,
    profile_id    text NOT NULL,
    workspace_id  text,
    created_at    datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, node, type),
    FOREIGN KEY (tenant_id, profile_id) REFERENCES profiles (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX profile_assignments_profile_idx ON profile_assignments (tenant_id, profile_id);
