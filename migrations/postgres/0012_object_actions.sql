-- +goose Up
-- Roles per object type (SPEC §4): boards and images gain read, create, update and delete as
-- actions a role can hold on a subtree, and boards `members` and `publish`. No table changes.
--
-- Existing tenants: the built-in roles gain the new actions BuiltinRoles now seeds in new tenants
-- (admin every one of them, auditor image:read), in the roles' rows and in the casbin rules
-- alike. Their behaviour does not change: admins already did all of it through board:admin, and
-- auditors read every image through board:read. Editors and viewers gain nothing. Tenant by
-- tenant with the tenant set, so row-level security admits the rows whatever role runs the
-- migration. Custom roles are left alone.
-- +goose StatementBegin
DO $$
DECLARE
    t uuid;
    r record;
BEGIN
    FOR t IN SELECT id FROM tenants LOOP
        PERFORM set_config('app.tenant_id', t::text, true);
        FOR r IN SELECT * FROM (VALUES ('admin', 'board:update'), ('admin', 'board:delete'), ('admin', 'board:members'),
                                       ('admin', 'board:publish'), ('admin', 'image:read'), ('admin', 'image:update'),
                                       ('admin', 'image:delete'), ('auditor', 'image:read'))
                 AS p(role, action) LOOP
            IF EXISTS (SELECT 1 FROM roles WHERE tenant_id = t AND name = r.role AND builtin) THEN
                INSERT INTO casbin_rule (ptype, v0, v1, v2) VALUES ('g2', r.role, r.action, t::text)
                    ON CONFLICT DO NOTHING;
                UPDATE roles
                   SET permissions = (SELECT jsonb_agg(DISTINCT a ORDER BY a)
                                        FROM jsonb_array_elements_text(permissions || to_jsonb(r.action::text)) AS a),
                       updated_at = now()
                 WHERE tenant_id = t AND name = r.role AND builtin AND NOT permissions ? r.action;
            END IF;
        END LOOP;
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);
END $$;
-- +goose StatementEnd
