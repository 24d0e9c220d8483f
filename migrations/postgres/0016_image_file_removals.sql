-- +goose Up
-- Stored files of deleted images wait here for a job to remove them: written in the transaction
-- that deletes the rows (so no file is forgotten, whatever happens after the commit) and drained
-- in bounded batches off the request path.
CREATE TABLE image_file_removals (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    image_id    uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, image_id)
);

ALTER TABLE image_file_removals ENABLE ROW LEVEL SECURITY;
ALTER TABLE image_file_removals FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON image_file_removals
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, DELETE ON image_file_removals TO atelier_app;
