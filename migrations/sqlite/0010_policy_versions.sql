-- +goose Up
-- One counter per tenant that moves forward with every change to what the policy is loaded from,
-- inside the transaction that makes the change (triggers). See the PostgreSQL migration.
CREATE TABLE policy_versions (
    tenant_id  text NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    version    integer NOT NULL DEFAULT 0
);
INSERT INTO policy_versions (tenant_id, version) SELECT id, 1 FROM tenants;

-- +goose StatementBegin
CREATE TRIGGER casbin_rule_policy_version_insert AFTER INSERT ON casbin_rule BEGIN
    INSERT INTO policy_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER casbin_rule_policy_version_update AFTER UPDATE ON casbin_rule BEGIN
    INSERT INTO policy_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER casbin_rule_policy_version_delete AFTER DELETE ON casbin_rule BEGIN
    UPDATE policy_versions SET version = version + 1 WHERE tenant_id = OLD.tenant_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER grants_policy_version_insert AFTER INSERT ON grants BEGIN
    INSERT INTO policy_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER grants_policy_version_update AFTER UPDATE ON grants BEGIN
    INSERT INTO policy_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER grants_policy_version_delete AFTER DELETE ON grants BEGIN
    UPDATE policy_versions SET version = version + 1 WHERE tenant_id = OLD.tenant_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER profiles_policy_version_insert AFTER INSERT ON profiles BEGIN
    INSERT INTO policy_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER profiles_policy_version_update AFTER UPDATE ON profiles BEGIN
    INSERT INTO policy_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER profiles_policy_version_delete AFTER DELETE ON profiles BEGIN
    UPDATE policy_versions SET version = version + 1 WHERE tenant_id = OLD.tenant_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER profile_assignments_policy_version_insert AFTER INSERT ON profile_assignments BEGIN
    INSERT INTO policy_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER profile_assignments_policy_version_update AFTER UPDATE ON profile_assignments BEGIN
    INSERT INTO policy_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER profile_assignments_policy_version_delete AFTER DELETE ON profile_assignments BEGIN
    UPDATE policy_versions SET version = version + 1 WHERE tenant_id = OLD.tenant_id;
END;
-- +goose StatementEnd
