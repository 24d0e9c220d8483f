-- +goose Up
-- Workflows: a named, tagged JSON graph in a workspace, owned by a user, private or shared with
-- the readers of its workspace; or a system workflow of the tenant (no owner, no workspace),
-- readable by every user of the tenant and writable by tenant admins only. Existing rows: none
-- (the table is new); existing tenants get no system workflows here (new tenants are seeded at
-- sign-up).
CREATE TABLE workflows (
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id             uuid NOT NULL,
    workspace_id   uuid,
    owner_id       uuid,
    is_system      boolean NOT NULL DEFAULT false,
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description    text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    shared         boolean NOT NULL DEFAULT false,
    graph          text NOT NULL,
    has_thumbnail  boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
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
    tenant_id    uuid NOT NULL,
    workflow_id  uuid NOT NULL,
    tag          text NOT NULL CHECK (length(tag) BETWEEN 1 AND 32),
    PRIMARY KEY (tenant_id, workflow_id, tag),
    FOREIGN KEY (tenant_id, workflow_id) REFERENCES workflows (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX workflow_tags_tag_idx ON workflow_tags (tenant_id, tag, workflow_id);

CREATE TABLE workflow_thumbnails (
    tenant_id     uuid NOT NULL,
    workflow_id   uuid NOT NULL,
    content_type  text NOT NULL,
    data          bytea NOT NULL,
    sha256        text NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, workflow_id),
    FOREIGN KEY (tenant_id, workflow_id) REFERENCES workflows (tenant_id, id) ON DELETE CASCADE
);

ALTER TABLE workflows ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflows FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON workflows
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
ALTER TABLE workflow_tags ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_tags FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON workflow_tags
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
ALTER TABLE workflow_thumbnails ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_thumbnails FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON workflow_thumbnails
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE, DELETE ON workflows, workflow_tags, workflow_thumbnails TO atelier_app;

-- Existing tenants: the built-in roles gain the workflow actions BuiltinRoles now seeds in new
-- tenants (admin all four, auditor and viewer workflow:read, editor workflow:read and
-- workflow:create). Custom roles are left alone.
-- +goose StatementBegin
DO $$
DECLARE
    t uuid;
    r record;
BEGIN
    FOR t IN SELECT id FROM tenants LOOP
        PERFORM set_config('app.tenant_id', t::text, true);
        FOR r IN SELECT * FROM (VALUES ('admin', 'workflow:read'), ('admin', 'workflow:create'),
                                       ('admin', 'workflow:update'), ('admin', 'workflow:delete'),
                                       ('auditor', 'workflow:read'), ('viewer', 'workflow:read'),
                                       ('editor', 'workflow:read'), ('editor', 'workflow:create'))
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
