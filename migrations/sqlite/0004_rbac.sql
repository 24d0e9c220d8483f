-- +goose Up
CREATE TABLE casbin_rule (
    id         integer PRIMARY KEY AUTOINCREMENT,
    ptype      varchar(100) NOT NULL DEFAULT '',
    v0         varchar(100) NOT NULL DEFAULT '',
    v1         varchar(100) NOT NULL DEFAULT '',
    v2         varchar(100) NOT NULL DEFAULT '',
    v3         varchar(100) NOT NULL DEFAULT '',
    v4         varchar(100) NOT NULL DEFAULT '',
    v5         varchar(100) NOT NULL DEFAULT '',
    tenant_id  text GENERATED ALWAYS AS (CASE WHEN ptype LIKE 'p%' THEN v0 ELSE v2 END) STORED
        REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX casbin_rule_rule_key ON casbin_rule (tenant_id, ptype, v0, v1, v2, v3, v4, v5);
CREATE INDEX casbin_rule_subject_idx ON casbin_rule (tenant_id, ptype, v1);
