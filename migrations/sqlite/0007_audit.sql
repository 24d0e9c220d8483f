-- +goose Up
CREATE TABLE audit_log (
    tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          text NOT NULL,
    at          datetime NOT NULL,
    request_id  text NOT NULL DEFAULT '',
    subject     text NOT NULL,
    action      text NOT NULL,
    object      text NOT NULL,
    result      text NOT NULL CHECK (result IN ('allow', 'deny')),
    reason      text NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_log_at_idx ON audit_log (tenant_id, at DESC, id DESC);
CREATE INDEX audit_log_subject_idx ON audit_log (tenant_id, subject, at DESC);
CREATE INDEX audit_log_action_idx ON audit_log (tenant_id, action, at DESC);
