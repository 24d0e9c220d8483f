-- +goose Up
-- Roles per object type (SPEC §4): boards and images gain read, create, update and delete as
-- actions a role can hold on a subtree, and boards `members` and `publish`. No table changes.
--
-- Existing tenants: the built-in roles gain the new actions BuiltinRoles now seeds in new tenants
-- (admin every one of them, auditor image:read), in the roles' rows and in the casbin rules
-- alike. Their behaviour does not change: admins already did all of it through board:admin, and
-- auditors read every image through board:read. Editors and viewers gain nothing. Custom roles
-- are left alone.
CREATE TEMP TABLE object_actions_0012 (role text, action text);
INSERT INTO object_actions_0012 VALUES ('admin', 'board:update'), ('admin', 'board:delete'), ('admin', 'board:members'),
    ('admin', 'board:publish'), ('admin', 'image:read'), ('admin', 'image:update'), ('admin', 'image:delete'),
    ('auditor', 'image:read');

INSERT OR IGNORE INTO casbin_rule (ptype, v0, v1, v2)
SELECT 'g2', p.role, p.action, roles.tenant_id
  FROM roles JOIN object_actions_0012 AS p ON p.role = roles.name
 WHERE roles.builtin;

UPDATE roles
   SET permissions = (SELECT json_group_array(value)
                        FROM (SELECT DISTINCT value FROM (
                                  SELECT value FROM json_each(roles.permissions)
                                  UNION ALL SELECT action FROM object_actions_0012 WHERE role = roles.name)
                              ORDER BY value)),
       updated_at = CURRENT_TIMESTAMP
 WHERE builtin AND name IN (SELECT role FROM object_actions_0012);

DROP TABLE object_actions_0012;
