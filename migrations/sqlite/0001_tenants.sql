-- +goose Up
-- The embedded default. No row-level security here: the tenant scope of the data layer applies.
CREATE TABLE tenants (
    id          text PRIMARY KEY,
    slug        text NOT NULL UNIQUE,
    name        text NOT NULL,
    settings    text NOT NULL DEFAULT '{}',
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at  datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at  datetime NOT NULL DEFAULT CURRENT_TIMESTAMP
);
