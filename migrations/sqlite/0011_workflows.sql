-- +goose Up
-- Workflows (see the PostgreSQL migration of the same number): user workflows in a workspace,
-- private or shared, and the tenant's system workflows (no owner, no workspace). Existing tenants
-- get no system workflows here; new tenants are seeded at sign-up.
CREATE TABLE workflows (
    tenant_id      text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id             text NOT NULL,
    workspace_id   text,
    owner_id       text,
    is_system      boolean NOT NULL DEFAULT false,
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description    text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    shared         boolean NOT NULL DEFAULT false,
    graph          text NOT NULL,
    has_thumbnail  boolean NOT NULL DEFAULT false,
    created_at     datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at     datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id),
    CHECK ((is_system AND owner_id IS NULL AND workspace_id IS NULL AND NOT shared)
        OR (NOT is_system AND owner_id IS NOT NULL AND workspace_id IS NOT NULL))
);
CREATE INDEX workflows_workspace_idx ON workflows (tenant_id, workspace_id, id);
CREATE INDEX workflows_owner_idx ON workflows (tenant_id, workspace_id, owner_id, id);
CREATE INDEX workflows_shared_idx ON workflows (tenant_id, workspace_id, id) WHERE shared;
CREATE INDEX workflows_system_idx ON workflows (tenant_id, id) WHERE is_system;

CREATE TABLE workflow_tags (
    tenant_id    text NOT NULL,
    workflow_id  text NOT NULL,
    tag          text NOT NULL CHECK (length(tag) BETWEEN 1 AND 32),
    PRIMARY KEY (tenant_id, workflow_id, tag),
    FOREIGN KEY (tenant_id, workflow_id) REFERENCES workflows (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX workflow_tags_tag_idx ON workflow_tags (tenant_id, tag, workflow_id);

CREATE TABLE workflow_thumbnails (
    tenant_id     text NOT NULL,
    workflow_id   text NOT NULL,
    content_type  text NOT NULL,
    data          blob NOT NULL,
    sha256        text NOT NULL,
    updated_at    datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, workflow_id),
    FOREIGN KEY (tenant_id, workflow_id) REFERENCES workflows (tenant_id, id) ON DELETE CASCADE
);

-- Existing tenants: the built-in roles gain the workflow actions BuiltinRoles now seeds in new
-- tenants. Custom roles are left alone.
CREATE TEMP TABLE workflow_grants_0011 (role text, action text);
INSERT INTO workflow_grants_0011 VALUES ('admin', 'workflow:read'), ('admin', 'workflow:create'),
    ('admin', 'workflow:update'), ('admin', 'workflow:delete'), ('auditor', 'workflow:read'),
    ('viewer', 'workflow:read'), ('editor', 'workflow:read'), ('editor', 'workflow:create');

INSERT OR IGNORE INTO casbin_rule (ptype, v0, v1, v2)
SELECT 'g2', p.role, p.action, roles.tenant_id
  FROM roles JOIN workflow_grants_0011 AS p ON p.role = roles.name
 WHERE roles.builtin;

UPDATE roles
   SET permissions = (SELECT json_group_array(value)
                        FROM (SELECT DISTINCT value FROM (
                                  SELECT value FROM json_each(roles.permissions)
                                  UNION ALL SELECT action FROM workflow_grants_0011 WHERE role = roles.name)
                              ORDER BY value)),
       updated_at = CURRENT_TIMESTAMP
 WHERE builtin AND name IN (SELECT role FROM workflow_grants_0011);

DROP TABLE workflow_grants_0011;
