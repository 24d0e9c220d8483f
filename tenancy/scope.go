package tenancy

import (
	"fmt"
	"reflect"

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
		cb.Update().Before("gorm:update").Register("tenancy:update", scopeWhere),
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
	if !isTenantModel(st.Schema) {
		if st.Schema == nil && st.Table != "" && st.SQL.Len() == 0 {
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

func scopeCreate(db *gorm.DB) {
	st := db.Statement
	if !isTenantModel(st.Schema) {
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
		if cur, zero := field.ValueOf(st.Context, row); !zero && cur != any(tenantID) {
			_ = db.AddError(fmt.Errorf("%w: row of another tenant", ErrNoTenant))
			return false
		}
		if err := field.Set(st.Context, row, tenantID); err != nil {
			_ = db.AddError(err)
			return false
		}
		return true
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
