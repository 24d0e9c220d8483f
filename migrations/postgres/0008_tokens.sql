-- +goose Up
-- Personal access tokens. Only the SHA-256 of the secret is kept; prefix is the token's visible
-- start (`atl_pat_` and the base64 of the first 12 bytes of its id), shown in lists so a leaked
-- token can be matched to its row. Tokens are revoked, never deleted by the application.
CREATE TABLE personal_tokens (
    tenant_id     uuid NOT NULL,
    id            uuid NOT NULL,
    user_id       uuid NOT NULL,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix        text NOT NULL CHECK (prefix LIKE 'atl\_pat\_%'),
    secret_hash   bytea NOT NULL CHECK (length(secret_hash) = 32),
    scopes        jsonb NOT NULL DEFAULT '["read"]'::jsonb,
    expires_at    timestamptz NOT NULL,
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    notified_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX personal_tokens_prefix_key ON personal_tokens (tenant_id, prefix);
CREATE INDEX personal_tokens_user_idx ON personal_tokens (tenant_id, user_id, id);
-- The expiry notice looks for live, not yet notified tokens by expiry.
CREATE INDEX personal_tokens_notice_idx ON personal_tokens (tenant_id, expires_at)
    WHERE revoked_at IS NULL AND notified_at IS NULL;

-- Every request made with a token, 4xx and 5xx included. Append-only for the application; the
-- retention job deletes through the same role.
CREATE TABLE token_access_log (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,
    token_id    uuid NOT NULL,
    at          timestamptz NOT NULL,
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

ALTER TABLE personal_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE personal_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON personal_tokens
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE token_access_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE token_access_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON token_access_log
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE ON personal_tokens TO atelier_app;
GRANT SELECT, INSERT, DELETE ON token_access_log TO atelier_app;

-- Existing tenants: the built-in admin role gains token:read and token:manage and the built-in
-- auditor token:read, as BuiltinRoles now seeds them in new tenants (rules for the enforcer and
-- the roles' permission lists, kept sorted). Tenant by tenant with the tenant set, so row-level
-- security admits the rows whatever role runs the migration. Custom roles are left alone.
-- +goose StatementBegin
DO $$
DECLARE
    t uuid;
    r record;
BEGIN
    FOR t IN SELECT id FROM tenants LOOP
        PERFORM set_config('app.tenant_id', t::text, true);
        FOR r IN SELECT * FROM (VALUES ('admin', 'token:read'), ('admin', 'token:manage'), ('auditor', 'token:read'))
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
