package tenancy

import (
	"fmt"
	"reflect"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// tenantColumn is the column every tenant table leads its keys with.
const tenantColumn = "tenant_id"

// registerScope installs callbacks that make the tenant scope impossible to forget: every
// statement on a model with a tenant_id column must run inside DB.Tx, gets `tenant_id = ?` added
// to its WHERE clause, and has its tenant_id set on create. Raw SQL must run inside DB.Tx too;
// on PostgreSQL row-level security scopes it.
func registerScope(g *gorm.DB) error {
	cb := g.Callback()
	steps := []error{
		cb.Create().Before("gorm:create").Register("tenancy:create", scopeCreate),
		cb.Query().Before("gorm:query").Register("tenancy:query", scopeWhere),
		cb.Update().Before("gorm:update").Register("tenancy:update", scopeUpdate),
		cb.Delete().Before("gorm:delete").Register("tenancy:delete", scopeWhere),
		cb.Row().Before("gorm:row").Register("tenancy:row", scopeWhere),
		cb.Raw().Before("gorm:raw").Register("tenancy:raw", requireScope),
	}
	for _, err := range steps {
		if err != nil {
			return fmt.Errorf("register tenant scope: %w", err)
		}
	}
	return nil
}

func isTenantModel(s *schema.Schema) bool {
	if s == nil {
		return false
	}
	_, ok := s.FieldsByDBName[tenantColumn]
	return ok
}

func scopeWhere(db *gorm.DB) {
	st := db.Statement
	if st.SQL.Len() > 0 {
		// Raw SQL (Raw(…).Scan/Rows/Find) names its tables itself: no schema says whether they
		// hold tenant data, so only the scoped Tx may run it, as for Exec.
		requireScope(db)
		return
	}
	if !isTenantModel(st.Schema) {
		if st.Schema == nil && st.Table != "" {
			// A table named by string has no schema to check; only the scoped Tx may do that.
			requireScope(db)
		}
		return
	}
	tenantID, ok := scopedTenant(st.Context)
	if !ok {
		_ = db.AddError(ErrNoTenant)
		return
	}
	st.AddClause(clause.Where{Exprs: []clause.Expression{
		clause.Eq{Column: clause.Column{Table: st.Table, Name: tenantColumn}, Value: tenantID},
	}})
}

// scopeUpdate scopes an update like any statement and refuses one that would move rows to
// another tenant by assigning tenant_id.
func scopeUpdate(db *gorm.DB) {
	scopeWhere(db)
	st := db.Statement
	if db.Error != nil || !isTenantModel(st.Schema) {
		return
	}
	tenantID, _ := scopedTenant(st.Context)
	field := st.Schema.FieldsByDBName[tenantColumn]
	switch dest := st.Dest.(type) {
	case map[string]interface{}:
		if !mapKeepsTenant(st.Schema, dest, tenantID, false) {
			_ = db.AddError(fmt.Errorf("%w: update moves rows to another tenant", ErrNoTenant))
		}
	default:
		rv := reflect.Indirect(reflect.ValueOf(st.Dest))
		if rv.Kind() != reflect.Struct || rv.Type() != st.Schema.ModelType {
			return
		}
		if cur, zero := field.ValueOf(st.Context, rv); !zero && !sameTenant(cur, tenantID) {
			_ = db.AddError(fmt.Errorf("%w: update moves rows to another tenant", ErrNoTenant))
		}
	}
}

func scopeCreate(db *gorm.DB) {
	st := db.Statement
	if !isTenantModel(st.Schema) {
		if st.Schema == nil && st.Table != "" {
			// A table named by string has no schema to check; only the scoped Tx may do that.
			requireScope(db)
		}
		return
	}
	tenantID, ok := scopedTenant(st.Context)
	if !ok {
		_ = db.AddError(ErrNoTenant)
		return
	}
	field := st.Schema.FieldsByDBName[tenantColumn]
	// stamp sets the row's tenant and refuses a row already stamped with another tenant.
	stamp := func(row reflect.Value) bool {
		if cur, zero := field.ValueOf(st.Context, row); !zero && !sameTenant(cur, tenantID) {
			_ = db.AddError(fmt.Errorf("%w: row of another tenant", ErrNoTenant))
			return false
		}
		if err := field.Set(st.Context, row, tenantID); err != nil {
			_ = db.AddError(err)
			return false
		}
		return true
	}
	// stampMap does the same for a row given as a map (keys are column or field names).
	stampMap := func(m map[string]interface{}) bool {
		if !mapKeepsTenant(st.Schema, m, tenantID, true) {
			_ = db.AddError(fmt.Errorf("%w: row of another tenant", ErrNoTenant))
			return false
		}
		return true
	}
	switch dest := st.Dest.(type) {
	case map[string]interface{}:
		stampMap(dest)
		return
	case *map[string]interface{}:
		stampMap(*dest)
		return
	case []map[string]interface{}:
		for _, m := range dest {
			if !stampMap(m) {
				return
			}
		}
		return
	case *[]map[string]interface{}:
		for _, m := range *dest {
			if !stampMap(m) {
				return
			}
		}
		return
	}
	switch rv := st.ReflectValue; rv.Kind() {
	case reflect.Slice, reflect.Array:
		for i := 0; i < rv.Len(); i++ {
			if !stamp(reflect.Indirect(rv.Index(i))) {
				return
			}
		}
	case reflect.Struct:
		stamp(rv)
	}
}

func requireScope(db *gorm.DB) {
	if _, ok := scopedTenant(db.Statement.Context); !ok {
		_ = db.AddError(ErrNoTenant)
	}
}

// mapKeepsTenant reports whether a map of column values leaves the row in the tenant: every key
// naming tenant_id (by column or field name) must hold the tenant. With stamp, a map without
// such a key gets tenant_id set.
func mapKeepsTenant(s *schema.Schema, m map[string]interface{}, tenantID uuid.UUID, stamp bool) bool {
	field := s.FieldsByDBName[tenantColumn]
	found := false
	for k, v := range m {
		if s.LookUpField(k) != field {
			continue
		}
		found = true
		if !sameTenant(v, tenantID) {
			return false
		}
	}
	if stamp && !found {
		m[tenantColumn] = tenantID
	}
	return true
}

// sameTenant reports whether a value assigned to tenant_id is the tenant. Anything it cannot
// read (an SQL expression, another type) is not.
func sameTenant(v any, tenantID uuid.UUID) bool {
	switch v := v.(type) {
	case uuid.UUID:
		return v == tenantID
	case *uuid.UUID:
		return v != nil && *v == tenantID
	case string:
		id, err := uuid.Parse(v)
		return err == nil && id == tenantID
	case []byte:
		id, err := uuid.ParseBytes(v)
		return err == nil && id == tenantID
	default:
		return false
	}
}
