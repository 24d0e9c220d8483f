-- +goose Up
-- Bulk downloads (see the PostgreSQL migration of the same number).
CREATE TABLE downloads (
    tenant_id     text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            text NOT NULL,
    owner_id      text NOT NULL,
    workspace_id  text,
    board_id      text,
    image_ids     text NOT NULL DEFAULT '[]',
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'running', 'ready', 'failed', 'expired')),
    image_count   integer NOT NULL CHECK (image_count >= 0),
    omitted_count integer NOT NULL DEFAULT 0 CHECK (omitted_count >= 0),
    bytes         integer NOT NULL DEFAULT 0 CHECK (bytes >= 0),
    progress      real NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
    error         text NOT NULL DEFAULT '',
    checksum      text NOT NULL DEFAULT '',
    file          text NOT NULL DEFAULT '',
    expires_at    datetime NOT NULL,
    created_at    datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at    datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX downloads_owner_idx ON downloads (tenant_id, owner_id, id);
CREATE INDEX downloads_expiry_idx ON downloads (tenant_id, expires_at);
