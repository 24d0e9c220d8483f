-- +goose Up
-- Stored files of deleted images wait here for a job to remove them (see the PostgreSQL file).
CREATE TABLE image_file_removals (
    tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    image_id    text NOT NULL,
    created_at  datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, image_id)
);
