-- +goose Up
-- Queue items (see the PostgreSQL migration of the same number): a workflow run a user enqueued
-- in a workspace, with the graph snapshot, the field values and the run's state.
CREATE TABLE queue_items (
    tenant_id         text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                text NOT NULL,
    workspace_id      text NOT NULL,
    owner_id          text NOT NULL,
    workflow_id       text NOT NULL,
    workflow_name     text NOT NULL,
    graph             text NOT NULL,
    field_values      text NOT NULL DEFAULT '{}',
    board_id          text NOT NULL,
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'running', 'completed', 'failed', 'canceled')),
    progress          real NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
    error             text NOT NULL DEFAULT '',
    result_image_ids  text NOT NULL DEFAULT '[]',
    attempt           integer NOT NULL DEFAULT 0,
    lease_until       datetime,
    created_at        datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    started_at        datetime,
    finished_at       datetime,
    updated_at        datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX queue_items_workspace_idx ON queue_items (tenant_id, workspace_id, id);
CREATE INDEX queue_items_owner_active_idx ON queue_items (tenant_id, owner_id, workspace_id) WHERE status IN ('pending', 'running');
CREATE INDEX queue_items_active_idx ON queue_items (tenant_id, status) WHERE status IN ('pending', 'running');
CREATE INDEX queue_items_lease_idx ON queue_items (lease_until) WHERE status = 'running';

-- Existing tenants: the built-in roles gain the queue actions BuiltinRoles now seeds in new
-- tenants. Custom roles are left alone.
CREATE TEMP TABLE queue_grants_0014 (role text, action text);
INSERT INTO queue_grants_0014 VALUES ('admin', 'queue:read'), ('admin', 'queue:create'),
    ('admin', 'queue:update'), ('admin', 'queue:delete'), ('auditor', 'queue:read'),
    ('viewer', 'queue:read'), ('editor', 'queue:read'), ('editor', 'queue:create');

INSERT OR IGNORE INTO casbin_rule (ptype, v0, v1, v2)
SELECT 'g2', p.role, p.action, roles.tenant_id
  FROM roles JOIN queue_grants_0014 AS p ON p.role = roles.name
 WHERE roles.builtin;

UPDATE roles
   SET permissions = (SELECT json_group_array(value)
                        FROM (SELECT DISTINCT value FROM (
                                  SELECT value FROM json_each(roles.permissions)
                                  UNION ALL SELECT action FROM queue_grants_0014 WHERE role = roles.name)
                              ORDER BY value)),
       updated_at = CURRENT_TIMESTAMP
 WHERE builtin AND name IN (SELECT role FROM queue_grants_0014);

DROP TABLE queue_grants_0014;
