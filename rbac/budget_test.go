package rbac_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/rbac"
)

// With a budget, the loaded policies stay within it: the least recently used tenant is dropped
// first, and a dropped tenant's next decision loads it again with the same answer.
func TestEnforcer_budgetEvictsTheLeastRecentlyUsedTenant(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()
	const n = 4
	tenants, admins := make([]uuid.UUID, n), make([]uuid.UUID, n)
	for i := range tenants {
		tenants[i], admins[i] = newTenant(t, db), uuid.New()
		grant(t, db, tenants[i], admins[i], rbac.RoleAdmin, rbac.Root)
	}
	allowed := func(e *rbac.Enforcer, i int) {
		t.Helper()
		if ok, err := e.Allowed(ctx, tenants[i], admins[i], rbac.Root, rbac.TenantRead); err != nil || !ok {
			t.Fatalf("tenant %d: admin's tenant:read = %v, %v; want allowed", i, ok, err)
		}
	}

	// One tenant's size, measured without a budget.
	e := newEnforcer(t, db, nil)
	allowed(e, 0)
	one := e.Held()
	if one <= 0 {
		t.Fatalf("a loaded tenant is counted at %d bytes", one)
	}

	// A budget for two and a half tenants: evicting down to 90% of it keeps two.
	e = newEnforcer(t, db, nil)
	budget := one * 5 / 2
	e.SetBudget(budget)
	for i := range tenants {
		allowed(e, i)
		if e.Held() > budget {
			t.Fatalf("after tenant %d: %d bytes held, budget %d", i, e.Held(), budget)
		}
	}
	if e.Loaded() != 2 {
		t.Fatalf("%d tenants loaded within a budget for two and a half", e.Loaded())
	}
	// Loaded now: 2 and 3. Use 2, then load 0: 3, the least recently used, goes; 2 stays.
	allowed(e, 2)
	allowed(e, 0)
	if !e.IsLoaded(tenants[2]) || !e.IsLoaded(tenants[0]) || e.IsLoaded(tenants[3]) {
		t.Fatalf("after using 2 and loading 0: loaded 0=%v 2=%v 3=%v, want 0 and 2", e.IsLoaded(tenants[0]),
			e.IsLoaded(tenants[2]), e.IsLoaded(tenants[3]))
	}
	// Every tenant still decides correctly whatever was evicted.
	for i := range tenants {
		allowed(e, i)
		if ok, err := e.Allowed(ctx, tenants[i], admins[(i+1)%n], rbac.Root, rbac.TenantRead); err != nil || ok {
			t.Fatalf("tenant %d: another tenant's admin = %v, %v; want denied", i, ok, err)
		}
	}
}
