-- +goose Up
CREATE TABLE personal_tokens (
    tenant_id     text NOT NULL,
    id            text NOT NULL,
    user_id       text NOT NULL,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix        text NOT NULL CHECK (prefix LIKE 'atl\_pat\_%' ESCAPE '\'),
    secret_hash   blob NOT NULL CHECK (length(secret_hash) = 32),
    scopes        text NOT NULL DEFAULT '["read"]',
    expires_at    datetime NOT NULL,
    last_used_at  datetime,
    revoked_at    datetime,
    notified_at   datetime,
    created_at    datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX personal_tokens_prefix_key ON personal_tokens (tenant_id, prefix);
CREATE INDEX personal_tokens_user_idx ON personal_tokens (tenant_id, user_id, id);
CREATE INDEX personal_tokens_notice_idx ON personal_tokens (tenant_id, expires_at)
    WHERE revoked_at IS NULL AND notified_at IS NULL;

CREATE TABLE token_access_log (
    tenant_id   text NOT NULL,
    id          text NOT NULL,
    token_id    text NOT NULL,
    at          datetime NOT NULL,
    request_id  text NOT NULL DEFAULT '',
    method      text NOT NULL,
    path        text NOT NULL,
    status      integer NOT NULL,
    client_ip   text NOT NULL DEFAULT '',
    user_agent  text NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, token_id) REFERENCES personal_tokens (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX token_access_log_token_idx ON token_access_log (tenant_id, token_id, id DESC);
CREATE INDEX token_access_log_at_idx ON token_access_log (tenant_id, at);

-- Existing tenants: the built-in admin role gains token:read and token:manage and the built-in
-- auditor token:read, as BuiltinRoles now seeds them in new tenants (rules for the enforcer and
-- the roles' permission lists, kept sorted). Custom roles are left alone.
INSERT OR IGNORE INTO casbin_rule (ptype, v0, v1, v2)
SELECT 'g2', p.role, p.action, roles.tenant_id
  FROM roles
  JOIN (SELECT 'admin' AS role, 'token:read' AS action
        UNION ALL SELECT 'admin', 'token:manage'
        UNION ALL SELECT 'auditor', 'token:read') AS p ON p.role = roles.name
 WHERE roles.builtin;

UPDATE roles
   SET permissions = (SELECT json_group_array(value)
                        FROM (SELECT DISTINCT value FROM (
                                  SELECT value FROM json_each(roles.permissions)
                                  UNION ALL SELECT 'token:read'
                                  UNION ALL SELECT 'token:manage' WHERE roles.name = 'admin')
                              ORDER BY value)),
       updated_at = CURRENT_TIMESTAMP
 WHERE builtin AND name IN ('admin', 'auditor');
