-- +goose Up
CREATE TABLE workspaces (
    tenant_id    text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           text NOT NULL,
    parent_id    text,
    slug         text NOT NULL,
    name         text NOT NULL,
    path         text NOT NULL,
    short_name   text NOT NULL DEFAULT '',
    description  text NOT NULL DEFAULT '',
    icon         text NOT NULL DEFAULT '',
    color        text NOT NULL DEFAULT '',
    owner_id     text,
    created_at   datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at   datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES workspaces (tenant_id, id)
);
CREATE UNIQUE INDEX workspaces_tenant_path_key ON workspaces (tenant_id, path);
CREATE INDEX workspaces_parent_idx ON workspaces (tenant_id, parent_id);
