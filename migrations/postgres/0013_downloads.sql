-- +goose Up
-- Bulk downloads: a zip of images built by a worker for its requester alone. The row is the
-- download's whole state (no process memory): who asked, what was asked for (image ids, and the
-- board when a whole board was asked for), where the build stands, and when the file expires.
-- workspace_id and board_id carry no foreign key on purpose: deleting a board or a workspace must
-- not be blocked by a download of it, and a build whose board is gone fails cleanly. file names the
-- stored archive of the build that completed (each build writes under a name of its own).
CREATE TABLE downloads (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    owner_id      uuid NOT NULL,
    workspace_id  uuid,
    board_id      uuid,
    image_ids     jsonb NOT NULL DEFAULT '[]'::jsonb,
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'running', 'ready', 'failed', 'expired')),
    image_count   integer NOT NULL CHECK (image_count >= 0),
    omitted_count integer NOT NULL DEFAULT 0 CHECK (omitted_count >= 0),
    bytes         bigint NOT NULL DEFAULT 0 CHECK (bytes >= 0),
    progress      double precision NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
    error         text NOT NULL DEFAULT '',
    checksum      text NOT NULL DEFAULT '',
    file          text NOT NULL DEFAULT '',
    expires_at    timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX downloads_owner_idx ON downloads (tenant_id, owner_id, id);
CREATE INDEX downloads_expiry_idx ON downloads (tenant_id, expires_at);

ALTER TABLE downloads ENABLE ROW LEVEL SECURITY;
ALTER TABLE downloads FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON downloads
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE, DELETE ON downloads TO atelier_app;
