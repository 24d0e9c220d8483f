-- +goose Up
-- Boards (private / shared / public, optionally published) with owner / editor / viewer members,
-- and images, each in exactly one workspace. An image's board is optional (uncategorised images
-- are their owner's alone).
CREATE TABLE boards (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    workspace_id  uuid NOT NULL,
    owner_id      uuid NOT NULL,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description   text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    visibility    text NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'shared', 'public')),
    published     boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX boards_workspace_idx ON boards (tenant_id, workspace_id, id);
CREATE INDEX boards_visible_idx ON boards (tenant_id, workspace_id, visibility, id);

CREATE TABLE board_members (
    tenant_id   uuid NOT NULL,
    board_id    uuid NOT NULL,
    user_id     uuid NOT NULL,
    role        text NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, board_id, user_id),
    FOREIGN KEY (tenant_id, board_id) REFERENCES boards (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX board_members_user_idx ON board_members (tenant_id, user_id, board_id);
-- Exactly one owner per board.
CREATE UNIQUE INDEX board_members_one_owner ON board_members (tenant_id, board_id) WHERE role = 'owner';

CREATE TABLE images (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    workspace_id  uuid NOT NULL,
    owner_id      uuid NOT NULL,
    board_id      uuid,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    content_type  text NOT NULL,
    size_bytes    bigint NOT NULL,
    width         integer NOT NULL,
    height        integer NOT NULL,
    sha256        text NOT NULL,
    starred       boolean NOT NULL DEFAULT false,
    metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, board_id) REFERENCES boards (tenant_id, id) ON DELETE SET NULL (board_id)
);
CREATE INDEX images_board_idx ON images (tenant_id, board_id, id);
CREATE INDEX images_owner_uncategorised_idx ON images (tenant_id, owner_id, id) WHERE board_id IS NULL;
CREATE INDEX images_workspace_idx ON images (tenant_id, workspace_id, id);

ALTER TABLE boards ENABLE ROW LEVEL SECURITY;
ALTER TABLE boards FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON boards
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
ALTER TABLE board_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE board_members FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON board_members
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
ALTER TABLE images ENABLE ROW LEVEL SECURITY;
ALTER TABLE images FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON images
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE, DELETE ON boards, board_members, images TO atelier_app;

-- The index of published boards, read by the anonymous public endpoint, which has no tenant to
-- scope by. It holds ids only; the board itself is then read under its tenant's scope.
CREATE TABLE public_boards (
    board_id   uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL,
    FOREIGN KEY (tenant_id, board_id) REFERENCES boards (tenant_id, id) ON DELETE CASCADE
);
GRANT SELECT, INSERT, DELETE ON public_boards TO atelier_app;

-- Existing tenants: the built-in roles gain the board and image actions BuiltinRoles now seeds in
-- new tenants (admin all four, auditor board:read, editor board:create and image:create). Tenant
-- by tenant with the tenant set, so row-level security admits the rows whatever role runs the
-- migration. Custom roles are left alone.
-- +goose StatementBegin
DO $$
DECLARE
    t uuid;
    r record;
BEGIN
    FOR t IN SELECT id FROM tenants LOOP
        PERFORM set_config('app.tenant_id', t::text, true);
        FOR r IN SELECT * FROM (VALUES ('admin', 'board:create'), ('admin', 'board:admin'), ('admin', 'board:read'),
                                       ('admin', 'image:create'), ('auditor', 'board:read'),
                                       ('editor', 'board:create'), ('editor', 'image:create'))
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
