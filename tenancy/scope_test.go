package tenancy_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/tenancy"
)

// dbOp is one GORM statement on tenant data.
type dbOp struct {
	name string
	run  func(g *gorm.DB, a, b seededTenant) error
}

// tenantModelOps covers every statement kind the scope plugin hooks, on a model with TenantID
// and on the table named by string.
var tenantModelOps = []dbOp{
	{"create", func(g *gorm.DB, a, _ seededTenant) error {
		return g.Create(&member{ID: uuid.New(), Email: "new@a.test", PasswordHash: "h"}).Error
	}},
	{"create already stamped with the tenant", func(g *gorm.DB, a, _ seededTenant) error {
		return g.Create(&member{TenantID: a.ID, ID: uuid.New(), Email: "new@a.test", PasswordHash: "h"}).Error
	}},
	{"create from a map", func(g *gorm.DB, a, _ seededTenant) error {
		return g.Model(&member{}).Create(map[string]any{"tenant_id": a.ID, "id": uuid.New(),
			"email": "new@a.test", "password_hash": "h"}).Error
	}},
	{"find", func(g *gorm.DB, _, _ seededTenant) error {
		var ms []member
		return g.Find(&ms).Error
	}},
	{"first by id", func(g *gorm.DB, a, _ seededTenant) error {
		var m member
		return g.Where("id = ?", a.Users[0]).First(&m).Error
	}},
	{"count", func(g *gorm.DB, _, _ seededTenant) error {
		var n int64
		return g.Model(&member{}).Count(&n).Error
	}},
	{"pluck", func(g *gorm.DB, _, _ seededTenant) error {
		var emails []string
		return g.Model(&member{}).Pluck("email", &emails).Error
	}},
	{"rows", func(g *gorm.DB, _, _ seededTenant) error {
		rows, err := g.Model(&member{}).Rows()
		if err == nil {
			_ = rows.Close()
		}
		return err
	}},
	{"update", func(g *gorm.DB, _, _ seededTenant) error {
		return g.Model(&member{}).Where("1 = 1").Update("display_name", "pwned").Error
	}},
	{"updates by id", func(g *gorm.DB, a, _ seededTenant) error {
		return g.Model(&member{}).Where("id = ?", a.Users[0]).Updates(map[string]any{"display_name": "pwned"}).Error
	}},
	{"save", func(g *gorm.DB, a, _ seededTenant) error {
		return g.Save(&member{TenantID: a.ID, ID: a.Users[0], Email: "u0@a.test", PasswordHash: "h",
			DisplayName: "pwned"}).Error
	}},
	{"delete all", func(g *gorm.DB, _, _ seededTenant) error {
		return g.Where("1 = 1").Delete(&member{}).Error
	}},
	{"delete by primary key", func(g *gorm.DB, a, _ seededTenant) error {
		return g.Delete(&member{TenantID: a.ID, ID: a.Users[0]}).Error
	}},
	{"table by name: find", func(g *gorm.DB, _, _ seededTenant) error {
		var out []map[string]any
		return g.Table("users").Find(&out).Error
	}},
	{"table by name: update", func(g *gorm.DB, _, _ seededTenant) error {
		return g.Table("users").Where("1 = 1").Update("display_name", "pwned").Error
	}},
	{"table by name: create", func(g *gorm.DB, a, _ seededTenant) error {
		return g.Table("users").Create(map[string]any{"tenant_id": a.ID, "id": uuid.New(),
			"email": "new@a.test", "password_hash": "h"}).Error
	}},
}

// rawOps are SQL statements that name tenant tables themselves.
var rawOps = []dbOp{
	{"exec update", func(g *gorm.DB, _, _ seededTenant) error {
		return g.Exec("UPDATE users SET display_name = 'pwned'").Error
	}},
	{"exec delete", func(g *gorm.DB, _, _ seededTenant) error {
		return g.Exec("DELETE FROM users").Error
	}},
	{"exec insert", func(g *gorm.DB, a, _ seededTenant) error {
		return g.Exec("INSERT INTO users (tenant_id, id, email, password_hash) VALUES (?, ?, 'new@a.test', 'h')",
			a.ID, uuid.New()).Error
	}},
	{"raw scan", func(g *gorm.DB, _, _ seededTenant) error {
		var n int64
		return g.Raw("SELECT count(*) FROM users").Scan(&n).Error
	}},
	{"raw rows", func(g *gorm.DB, _, _ seededTenant) error {
		rows, err := g.Raw("SELECT email FROM users").Rows()
		if err == nil {
			_ = rows.Close()
		}
		return err
	}},
	{"raw find into a tenant model", func(g *gorm.DB, _, _ seededTenant) error {
		var ms []member
		return g.Raw("SELECT * FROM users").Find(&ms).Error
	}},
	{"raw find into a struct without tenant", func(g *gorm.DB, _, _ seededTenant) error {
		var out []struct{ Email string }
		return g.Raw("SELECT email FROM users").Find(&out).Error
	}},
}

// TestScope_tenantDataOutsideTxFailsAndTouchesNothing: every statement on tenant data, through
// every handle that is not DB.Tx, with or without a tenant in ctx, fails with ErrNoTenant and
// leaves the rows as they were.
func TestScope_tenantDataOutsideTxFailsAndTouchesNothing(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			db := be.open(t)
			a, b := seedTwoTenants(t, db)
			before := allUsers(t, db)
			contexts := []struct {
				name string
				ctx  context.Context
			}{
				{"no tenant in ctx", context.Background()},
				{"tenant in ctx but outside Tx", tenancy.WithTenant(context.Background(), a.ID)},
			}
			handles := []struct {
				name string
				get  func(ctx context.Context) *gorm.DB
			}{
				{"Registry", db.Registry},
				{"Raw", func(ctx context.Context) *gorm.DB { return db.Raw().WithContext(ctx) }},
			}
			for _, group := range []struct {
				name string
				ops  []dbOp
			}{{"model", tenantModelOps}, {"sql", rawOps}} {
				for _, op := range group.ops {
					for _, c := range contexts {
						for _, h := range handles {
							name := group.name + "/" + op.name + "/" + c.name + "/" + h.name
							err := op.run(h.get(c.ctx), a, b)
							if !errors.Is(err, tenancy.ErrNoTenant) {
								t.Errorf("%s: err = %v, want ErrNoTenant", name, err)
							}
							if after := allUsers(t, db); !sameRows(before, after) {
								t.Fatalf("%s changed rows:\nbefore %v\nafter  %v", name, before, after)
							}
						}
					}
				}
			}
		})
	}
}

// TestTx_withoutTenantInContextNeverRuns: Tx itself refuses a ctx with no (or the nil) tenant
// before it opens a transaction.
func TestTx_withoutTenantInContextNeverRuns(t *testing.T) {
	t.Parallel()
	db := openSQLite(t)
	for _, c := range []struct {
		name string
		ctx  context.Context
	}{
		{"no tenant", context.Background()},
		{"nil tenant", tenancy.WithTenant(context.Background(), uuid.Nil)},
	} {
		ran := false
		err := db.Tx(c.ctx, func(*gorm.DB) error { ran = true; return nil })
		if !errors.Is(err, tenancy.ErrNoTenant) || ran {
			t.Errorf("%s: err = %v, fn ran = %v; want ErrNoTenant and fn not run", c.name, err, ran)
		}
	}
}

// TestTx_createStampsTheContextTenant: rows created in a Tx belong to the ctx tenant whether
// the caller set TenantID or not, one at a time, in a batch or from a map.
func TestTx_createStampsTheContextTenant(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			db := be.open(t)
			a, _ := seedTwoTenants(t, db)
			one := member{ID: uuid.New(), Email: "one@a.test", PasswordHash: "h"}
			batch := []member{
				{ID: uuid.New(), Email: "b1@a.test", PasswordHash: "h"},
				{ID: uuid.New(), Email: "b2@a.test", PasswordHash: "h", TenantID: a.ID},
			}
			fromMap := uuid.New()
			err := db.Tx(tenancy.WithTenant(context.Background(), a.ID), func(tx *gorm.DB) error {
				if err := tx.Create(&one).Error; err != nil {
					return err
				}
				if err := tx.Create(&batch).Error; err != nil {
					return err
				}
				return tx.Model(&member{}).Create(map[string]any{"id": fromMap, "email": "map@a.test",
					"password_hash": "h"}).Error
			})
			if err != nil {
				t.Fatalf("create in Tx: %v", err)
			}
			if one.TenantID != a.ID {
				t.Errorf("struct TenantID = %s after create, want %s", one.TenantID, a.ID)
			}
			rows := allUsers(t, db)
			for _, id := range []uuid.UUID{one.ID, batch[0].ID, batch[1].ID, fromMap} {
				r, ok := rows[id]
				if !ok || r.TenantID != a.ID {
					t.Errorf("row %s: stored = %v (found %v), want tenant %s", id, r, ok, a.ID)
				}
			}
		})
	}
}

// TestTx_createRefusesRowOfAnotherTenant: a row stamped with another tenant is refused, and the
// whole transaction with it.
func TestTx_createRefusesRowOfAnotherTenant(t *testing.T) {
	t.Parallel()
	cases := []dbOp{
		{"struct", func(tx *gorm.DB, _, b seededTenant) error {
			return tx.Create(&member{TenantID: b.ID, ID: uuid.New(), Email: "x@b.test", PasswordHash: "h"}).Error
		}},
		{"batch with one foreign row", func(tx *gorm.DB, a, b seededTenant) error {
			return tx.Create(&[]member{
				{ID: uuid.New(), Email: "ok@a.test", PasswordHash: "h"},
				{TenantID: b.ID, ID: uuid.New(), Email: "x@b.test", PasswordHash: "h"},
			}).Error
		}},
		{"map with a uuid", func(tx *gorm.DB, _, b seededTenant) error {
			return tx.Model(&member{}).Create(map[string]any{"tenant_id": b.ID, "id": uuid.New(),
				"email": "x@b.test", "password_hash": "h"}).Error
		}},
		{"map with a string by field name", func(tx *gorm.DB, _, b seededTenant) error {
			return tx.Model(&member{}).Create(map[string]any{"TenantID": b.ID.String(), "id": uuid.New(),
				"email": "x@b.test", "password_hash": "h"}).Error
		}},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			db := be.open(t)
			a, b := seedTwoTenants(t, db)
			before := allUsers(t, db)
			for _, c := range cases {
				err := db.Tx(tenancy.WithTenant(context.Background(), a.ID), func(tx *gorm.DB) error {
					return c.run(tx, a, b)
				})
				if !errors.Is(err, tenancy.ErrNoTenant) {
					t.Errorf("%s: err = %v, want ErrNoTenant", c.name, err)
				}
				if after := allUsers(t, db); !sameRows(before, after) {
					t.Fatalf("%s changed rows:\nbefore %v\nafter  %v", c.name, before, after)
				}
			}
		})
	}
}

// TestTx_readsSeeOnlyTheContextTenant: reads in A's Tx return A's rows only, even when the WHERE
// names B's ids or B's tenant_id.
func TestTx_readsSeeOnlyTheContextTenant(t *testing.T) {
	t.Parallel()
	type read func(tx *gorm.DB, a, b seededTenant) ([]uuid.UUID, error)
	ids := func(ms []member) []uuid.UUID {
		out := make([]uuid.UUID, 0, len(ms))
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	cases := []struct {
		name string
		read read
		want func(a, b seededTenant) []uuid.UUID
	}{
		{"find everything", func(tx *gorm.DB, _, _ seededTenant) ([]uuid.UUID, error) {
			var ms []member
			err := tx.Find(&ms).Error
			return ids(ms), err
		}, func(a, _ seededTenant) []uuid.UUID { return a.Users }},
		{"find by the other tenant's ids", func(tx *gorm.DB, _, b seededTenant) ([]uuid.UUID, error) {
			var ms []member
			err := tx.Where("id IN ?", b.Users).Find(&ms).Error
			return ids(ms), err
		}, func(_, _ seededTenant) []uuid.UUID { return nil }},
		{"find by the other tenant's tenant_id", func(tx *gorm.DB, _, b seededTenant) ([]uuid.UUID, error) {
			var ms []member
			err := tx.Where("tenant_id = ?", b.ID).Find(&ms).Error
			return ids(ms), err
		}, func(_, _ seededTenant) []uuid.UUID { return nil }},
		{"find with an OR that names the other tenant", func(tx *gorm.DB, a, b seededTenant) ([]uuid.UUID, error) {
			var ms []member
			err := tx.Where("id = ?", a.Users[0]).Or("id = ?", b.Users[0]).Find(&ms).Error
			return ids(ms), err
		}, func(a, _ seededTenant) []uuid.UUID { return a.Users[:1] }},
		{"first by the other tenant's primary key", func(tx *gorm.DB, _, b seededTenant) ([]uuid.UUID, error) {
			m := member{TenantID: b.ID, ID: b.Users[0]}
			err := tx.First(&m).Error
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return nil, nil
			}
			return []uuid.UUID{m.ID}, err
		}, func(_, _ seededTenant) []uuid.UUID { return nil }},
		{"pluck ids of the other tenant", func(tx *gorm.DB, _, b seededTenant) ([]uuid.UUID, error) {
			var out []uuid.UUID
			err := tx.Model(&member{}).Where("tenant_id = ?", b.ID).Pluck("id", &out).Error
			return out, err
		}, func(_, _ seededTenant) []uuid.UUID { return nil }},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			db := be.open(t)
			a, b := seedTwoTenants(t, db)
			for _, c := range cases {
				var got []uuid.UUID
				err := db.Tx(tenancy.WithTenant(context.Background(), a.ID), func(tx *gorm.DB) error {
					var err error
					got, err = c.read(tx, a, b)
					return err
				})
				if err != nil {
					t.Errorf("%s: %v", c.name, err)
					continue
				}
				if want := c.want(a, b); !sameIDs(got, want) {
					t.Errorf("%s: got %v, want %v", c.name, got, want)
				}
			}
			var n int64
			err := db.Tx(tenancy.WithTenant(context.Background(), a.ID), func(tx *gorm.DB) error {
				return tx.Model(&member{}).Where("id IN ?", b.Users).Count(&n).Error
			})
			if err != nil || n != 0 {
				t.Errorf("count of the other tenant's ids = %d, %v; want 0", n, err)
			}
		})
	}
}

// TestTx_writesAffectOnlyTheContextTenant: updates and deletes in A's Tx change A's rows at most,
// whatever their WHERE says, and can never move a row to another tenant.
func TestTx_writesAffectOnlyTheContextTenant(t *testing.T) {
	t.Parallel()
	type effect int
	const (
		untouched effect = iota // A's rows as they were
		renamed                 // every A row's display_name is "x"
		deleted                 // every A row is gone
	)
	cases := []struct {
		name         string
		write        func(tx *gorm.DB, a, b seededTenant) *gorm.DB
		wantAffected int64
		wantErr      error
		wantA        effect
	}{
		{"update by the other tenant's ids", func(tx *gorm.DB, _, b seededTenant) *gorm.DB {
			return tx.Model(&member{}).Where("id IN ?", b.Users).Update("display_name", "x")
		}, 0, nil, untouched},
		{"update by the other tenant's tenant_id", func(tx *gorm.DB, _, b seededTenant) *gorm.DB {
			return tx.Model(&member{}).Where("tenant_id = ?", b.ID).Update("display_name", "x")
		}, 0, nil, untouched},
		{"update everything", func(tx *gorm.DB, _, _ seededTenant) *gorm.DB {
			return tx.Model(&member{}).Where("1 = 1").Update("display_name", "x")
		}, 2, nil, renamed},
		{"updates of the other tenant's row by primary key", func(tx *gorm.DB, _, b seededTenant) *gorm.DB {
			return tx.Model(&member{TenantID: b.ID, ID: b.Users[0]}).Updates(member{DisplayName: "x"})
		}, 0, nil, untouched},
		{"update that moves rows to the other tenant", func(tx *gorm.DB, _, b seededTenant) *gorm.DB {
			return tx.Model(&member{}).Where("1 = 1").Update("tenant_id", b.ID)
		}, 0, tenancy.ErrNoTenant, untouched},
		{"updates with a struct that moves rows to the other tenant", func(tx *gorm.DB, _, b seededTenant) *gorm.DB {
			return tx.Model(&member{}).Where("1 = 1").Updates(member{TenantID: b.ID, DisplayName: "x"})
		}, 0, tenancy.ErrNoTenant, untouched},
		{"delete by the other tenant's ids", func(tx *gorm.DB, _, b seededTenant) *gorm.DB {
			return tx.Where("id IN ?", b.Users).Delete(&member{})
		}, 0, nil, untouched},
		{"delete the other tenant's row by primary key", func(tx *gorm.DB, _, b seededTenant) *gorm.DB {
			return tx.Delete(&member{TenantID: b.ID, ID: b.Users[0]})
		}, 0, nil, untouched},
		{"delete everything", func(tx *gorm.DB, _, _ seededTenant) *gorm.DB {
			return tx.Where("1 = 1").Delete(&member{})
		}, 2, nil, deleted},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			// One database; each case gets its own pair of tenants and runs alone, so it must
			// leave every row outside its tenant A as it was, earlier cases' tenants included.
			db := be.open(t)
			for _, c := range cases {
				a, b := seedTwoTenants(t, db)
				before := allUsers(t, db)
				var affected int64
				err := db.Tx(tenancy.WithTenant(context.Background(), a.ID), func(tx *gorm.DB) error {
					res := c.write(tx, a, b)
					affected = res.RowsAffected
					return res.Error
				})
				switch {
				case c.wantErr != nil && !errors.Is(err, c.wantErr):
					t.Errorf("%s: err = %v, want %v", c.name, err, c.wantErr)
				case c.wantErr == nil && err != nil:
					t.Errorf("%s: %v", c.name, err)
				case err == nil && affected != c.wantAffected:
					t.Errorf("%s: rows affected = %d, want %d", c.name, affected, c.wantAffected)
				}
				after := allUsers(t, db)
				if got, want := notOfTenant(after, a.ID), notOfTenant(before, a.ID); !sameRows(got, want) ||
					len(ofTenant(want, b.ID)) != len(b.Users) {
					t.Errorf("%s: rows outside tenant A changed:\nbefore %v\nafter  %v", c.name, want, got)
				}
				gotA, wantA := ofTenant(after, a.ID), ofTenant(before, a.ID)
				switch c.wantA {
				case renamed:
					for id, r := range wantA {
						r.DisplayName = "x"
						wantA[id] = r
					}
				case deleted:
					wantA = map[uuid.UUID]userRow{}
				}
				if !sameRows(gotA, wantA) {
					t.Errorf("%s: tenant A's rows:\ngot  %v\nwant %v", c.name, gotA, wantA)
				}
			}
		})
	}
}

// TestTx_rawSQLRunsInsideTx: the scoped Tx is where raw SQL belongs; it runs there.
func TestTx_rawSQLRunsInsideTx(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			db := be.open(t)
			a, _ := seedTwoTenants(t, db)
			var n int64
			err := db.Tx(tenancy.WithTenant(context.Background(), a.ID), func(tx *gorm.DB) error {
				return tx.Raw("SELECT count(*) FROM users WHERE tenant_id = ?", a.ID).Scan(&n).Error
			})
			if err != nil || n != int64(len(a.Users)) {
				t.Errorf("count in Tx = %d, %v; want %d", n, err, len(a.Users))
			}
		})
	}
}

func sameIDs(got, want []uuid.UUID) bool {
	g := slices.Clone(got)
	w := slices.Clone(want)
	cmp := func(x, y uuid.UUID) int { return slices.Compare(x[:], y[:]) }
	slices.SortFunc(g, cmp)
	slices.SortFunc(w, cmp)
	return slices.Equal(g, w)
}
