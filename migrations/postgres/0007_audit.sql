-- +goose Up
-- The audit log: every denied decision and every granted change. Append-only for the application.
CREATE TABLE audit_log (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid NOT NULL,
    at          timestamptz NOT NULL,
    request_id  text NOT NULL DEFAULT '',
    subject     text NOT NULL,
    action      text NOT NULL,
    object      text NOT NULL,
    result      text NOT NULL CHECK (result IN ('allow', 'deny')),
    reason      jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_log_at_idx ON audit_log (tenant_id, at DESC, id DESC);
CREATE INDEX audit_log_subject_idx ON audit_log (tenant_id, subject, at DESC);
CREATE INDEX audit_log_action_idx ON audit_log (tenant_id, action, at DESC);

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_log
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Append-only: the application may add and read entries, never change or remove them (the
-- retention job deletes through the same role, so DELETE stays granted).
GRANT SELECT, INSERT, DELETE ON audit_log TO atelier_app;
