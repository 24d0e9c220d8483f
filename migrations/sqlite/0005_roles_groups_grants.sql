-- +goose Up
CREATE TABLE roles (
    tenant_id    text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           text NOT NULL,
    name         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    builtin      boolean NOT NULL DEFAULT false,
    permissions  text NOT NULL DEFAULT '[]',
    created_at   datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at   datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX roles_tenant_name_key ON roles (tenant_id, name);

CREATE TABLE groups (
    tenant_id    text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           text NOT NULL,
    name         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    created_at   datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX groups_tenant_name_key ON groups (tenant_id, lower(name));

CREATE TABLE group_members (
    tenant_id  text NOT NULL,
    group_id   text NOT NULL,
    user_id    text NOT NULL,
    created_at datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, group_id, user_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX group_members_user_idx ON group_members (tenant_id, user_id);

CREATE TABLE grants (
    tenant_id     text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            text NOT NULL,
    workspace_id  text,
    subject_type  text NOT NULL CHECK (subject_type IN ('user', 'group')),
    subject_id    text NOT NULL,
    role          text NOT NULL,
    expires_at    datetime,
    created_by    text,
    created_at    datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX grants_unique_key ON grants (tenant_id, coalesce(workspace_id, ''), subject_type, subject_id, role);
CREATE INDEX grants_subject_idx ON grants (tenant_id, subject_type, subject_id);
CREATE INDEX grants_expires_idx ON grants (expires_at) WHERE expires_at IS NOT NULL;
