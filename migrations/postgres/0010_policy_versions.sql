-- +goose Up
-- One counter per tenant that moves forward with every change to what the policy is loaded from,
-- inside the transaction that makes the change (triggers, so no code path can forget it). API
-- nodes compare it with the version of the policy they hold at a bounded interval: a pub/sub
-- message lost while Redis reconnects cannot keep a revoked grant working.
CREATE TABLE policy_versions (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    version    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id)
);

ALTER TABLE policy_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE policy_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON policy_versions
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE ON policy_versions TO atelier_app;

-- Existing tenants start at version 1.
INSERT INTO policy_versions (tenant_id, version) SELECT id, 1 FROM tenants;

-- +goose StatementBegin
CREATE FUNCTION bump_policy_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        -- A delete may be part of the tenant's own deletion: never recreate its row then.
        UPDATE policy_versions SET version = version + 1 WHERE tenant_id = OLD.tenant_id;
    ELSE
        INSERT INTO policy_versions AS v (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER casbin_rule_policy_version AFTER INSERT OR UPDATE OR DELETE ON casbin_rule
    FOR EACH ROW EXECUTE FUNCTION bump_policy_version();
CREATE TRIGGER grants_policy_version AFTER INSERT OR UPDATE OR DELETE ON grants
    FOR EACH ROW EXECUTE FUNCTION bump_policy_version();
CREATE TRIGGER profiles_policy_version AFTER INSERT OR UPDATE OR DELETE ON profiles
    FOR EACH ROW EXECUTE FUNCTION bump_policy_version();
CREATE TRIGGER profile_assignments_policy_version AFTER INSERT OR UPDATE OR DELETE ON profile_assignments
    FOR EACH ROW EXECUTE FUNCTION bump_policy_version();
