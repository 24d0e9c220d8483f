-- +goose Up
CREATE TABLE users (
    tenant_id      text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id             text NOT NULL,
    email          text NOT NULL,
    password_hash  text NOT NULL,
    display_name   text NOT NULL DEFAULT '',
    disabled       boolean NOT NULL DEFAULT false,
    created_at     datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at     datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX users_tenant_email_key ON users (tenant_id, lower(email));

CREATE TABLE refresh_tokens (
    tenant_id    text NOT NULL,
    id           text NOT NULL,
    user_id      text NOT NULL,
    family_id    text NOT NULL,
    secret_hash  blob NOT NULL,
    expires_at   datetime NOT NULL,
    rotated_at   datetime,
    revoked_at   datetime,
    created_at   datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (tenant_id, family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (tenant_id, user_id);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (tenant_id, expires_at);
