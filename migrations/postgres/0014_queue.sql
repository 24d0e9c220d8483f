-- +goose Up
-- Queue items: a workflow run a user enqueued in a workspace, run by an asynq worker as that
-- user. The graph is a snapshot taken at enqueue time (the field values were validated against
-- it); the workflow id is kept for the re-check when the item runs, without a foreign key (a
-- deleted workflow fails its pending items at run time instead of blocking the delete). The
-- board is re-checked at run time likewise. lease_until is when a running item whose worker
-- stopped reporting is failed by the sweeper. Existing rows: none (the table is new).
CREATE TABLE queue_items (
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                uuid NOT NULL,
    workspace_id      uuid NOT NULL,
    owner_id          uuid NOT NULL,
    workflow_id       uuid NOT NULL,
    workflow_name     text NOT NULL,
    graph             text NOT NULL,
    field_values      jsonb NOT NULL DEFAULT '{}',
    board_id          uuid NOT NULL,
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'running', 'completed', 'failed', 'canceled')),
    progress          double precision NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
    error             text NOT NULL DEFAULT '',
    result_image_ids  jsonb NOT NULL DEFAULT '[]',
    attempt           integer NOT NULL DEFAULT 0,
    lease_until       timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX queue_items_workspace_idx ON queue_items (tenant_id, workspace_id, id);
CREATE INDEX queue_items_owner_active_idx ON queue_items (tenant_id, owner_id, workspace_id) WHERE status IN ('pending', 'running');
CREATE INDEX queue_items_active_idx ON queue_items (tenant_id, status) WHERE status IN ('pending', 'running');
CREATE INDEX queue_items_lease_idx ON queue_items (lease_until) WHERE status = 'running';

ALTER TABLE queue_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE queue_items FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON queue_items
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE, DELETE ON queue_items TO atelier_app;

-- Existing tenants: the built-in roles gain the queue actions BuiltinRoles now seeds in new
-- tenants (admin all four, auditor and viewer queue:read, editor queue:read and queue:create).
-- Custom roles are left alone.
-- +goose StatementBegin
DO $$
DECLARE
    t uuid;
    r record;
BEGIN
    FOR t IN SELECT id FROM tenants LOOP
        PERFORM set_config('app.tenant_id', t::text, true);
        FOR r IN SELECT * FROM (VALUES ('admin', 'queue:read'), ('admin', 'queue:create'),
                                       ('admin', 'queue:update'), ('admin', 'queue:delete'),
                                       ('auditor', 'queue:read'), ('viewer', 'queue:read'),
                                       ('editor', 'queue:read'), ('editor', 'queue:create'))
                 AS p(role, action) LOOP
            IF EXISTS (SELECT 1 FROM roles WHERE tenant_id = t AND name = r.role AND builtin) THEN
                INSERT INTO casbin_rule (ptype, v0, v1, v2) VALUES ('g2', r.role, r.action, t::text)
                    ON CONFLICT DO NOTHING;
                UPDATE roles
                   SET permissions = (SELECT jsonb_agg(DISTINCT a ORDER BY a)
                                        FROM jsonb_array_elements_text(permissions || to_jsonb(r.action::text)) AS a),
                       updated_at = now()
                 WHERE tenant_id = t AND name = r.role AND builtin AND NOT permissions ? r.action;
            END IF;
        END LOOP;
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);
END $$;
-- +goose StatementEnd
