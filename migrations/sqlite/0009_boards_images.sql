-- +goose Up
CREATE TABLE boards (
    tenant_id     text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            text NOT NULL,
    workspace_id  text NOT NULL,
    owner_id      text NOT NULL,
    name          text NOT NULL,
    description   text NOT NULL DEFAULT '',
    visibility    text NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'shared', 'public')),
    published     boolean NOT NULL DEFAULT false,
    created_at    datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at    datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX boards_workspace_idx ON boards (tenant_id, workspace_id, id);
CREATE INDEX boards_visible_idx ON boards (tenant_id, workspace_id, visibility, id);

CREATE TABLE board_members (
    tenant_id   text NOT NULL,
    board_id    text NOT NULL,
    user_id     text NOT NULL,
    role        text NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    created_at  datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, board_id, user_id),
    FOREIGN KEY (tenant_id, board_id) REFERENCES boards (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX board_members_user_idx ON board_members (tenant_id, user_id, board_id);
CREATE UNIQUE INDEX board_members_one_owner ON board_members (tenant_id, board_id) WHERE role = 'owner';

CREATE TABLE images (
    tenant_id     text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            text NOT NULL,
    workspace_id  text NOT NULL,
    owner_id      text NOT NULL,
    board_id      text,
    name          text NOT NULL,
    content_type  text NOT NULL,
    size_bytes    integer NOT NULL,
    width         integer NOT NULL,
    height        integer NOT NULL,
    sha256        text NOT NULL,
    starred       boolean NOT NULL DEFAULT false,
    metadata      text NOT NULL DEFAULT '{}',
    created_at    datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at    datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, board_id) REFERENCES boards (tenant_id, id)
);
CREATE INDEX images_board_idx ON images (tenant_id, board_id, id);
CREATE INDEX images_owner_uncategorised_idx ON images (tenant_id, owner_id, id) WHERE board_id IS NULL;
CREATE INDEX images_workspace_idx ON images (tenant_id, workspace_id, id);

CREATE TABLE public_boards (
    board_id   text PRIMARY KEY,
    tenant_id  text NOT NULL,
    FOREIGN KEY (tenant_id, board_id) REFERENCES boards (tenant_id, id) ON DELETE CASCADE
);

-- Existing tenants: the built-in roles gain the board and image actions BuiltinRoles now seeds in
-- new tenants (admin all four, auditor board:read, editor board:create and image:create). Custom
-- roles are left alone.
CREATE TEMP TABLE board_grants_0009 (role text, action text);
INSERT INTO board_grants_0009 VALUES ('admin', 'board:create'), ('admin', 'board:admin'), ('admin', 'board:read'),
    ('admin', 'image:create'), ('auditor', 'board:read'), ('editor', 'board:create'), ('editor', 'image:create');

INSERT OR IGNORE INTO casbin_rule (ptype, v0, v1, v2)
SELECT 'g2', p.role, p.action, roles.tenant_id
  FROM roles JOIN board_grants_0009 AS p ON p.role = roles.name
 WHERE roles.builtin;

UPDATE roles
   SET permissions = (SELECT json_group_array(value)
                        FROM (SELECT DISTINCT value FROM (
                                  SELECT value FROM json_each(roles.permissions)
                                  UNION ALL SELECT action FROM board_grants_0009 WHERE role = roles.name)
                              ORDER BY value)),
       updated_at = CURRENT_TIMESTAMP
 WHERE builtin AND name IN (SELECT role FROM board_grants_0009);

DROP TABLE board_grants_0009;
