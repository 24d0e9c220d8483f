package tenancy_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/tenancy"
)

// ReadTx inside an open write transaction neither waits on it nor sees its uncommitted rows: on
// the embedded database, whose single writer connection the write transaction holds, a decision
// that has to load a tenant's policy mid-transaction used to wait on itself forever. It is scoped
// to the tenant like Tx, and on SQLite it cannot write.
func TestReadTx_runsBesideAnOpenWriteTransaction(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			db := be.open(t)
			a, b := seedTwoTenants(t, db)
			ctx, cancel := context.WithTimeout(tenancy.WithTenant(context.Background(), a.ID), 20*time.Second)
			defer cancel()
			err := db.Tx(ctx, func(tx *gorm.DB) error {
				if err := tx.Model(&member{}).Where("id = ?", a.Users[0]).Update("display_name", "uncommitted").Error; err != nil {
					return err
				}
				var seen []member
				if err := db.ReadTx(ctx, func(r *gorm.DB) error { return r.Order("id").Find(&seen).Error }); err != nil {
					t.Fatalf("ReadTx inside a write transaction: %v", err)
				}
				var ids []uuid.UUID
				for _, m := range seen {
					ids = append(ids, m.ID)
					if m.DisplayName == "uncommitted" {
						t.Errorf("ReadTx saw an uncommitted change")
					}
				}
				want := slices.Clone(a.Users)
				slices.SortFunc(want, func(x, y uuid.UUID) int { return slices.Compare(x[:], y[:]) })
				if !slices.Equal(ids, want) {
					t.Errorf("ReadTx read %v, want tenant A's users %v (never B's %v)", ids, want, b.Users)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.ReadTx(context.Background(), func(*gorm.DB) error { return nil }); err != tenancy.ErrNoTenant {
				t.Errorf("ReadTx without a tenant: %v, want ErrNoTenant", err)
			}
			if be.name == "sqlite" {
				err := db.ReadTx(ctx, func(r *gorm.DB) error {
					return r.Model(&member{}).Where("id = ?", a.Users[0]).Update("display_name", "x").Error
				})
				if err == nil {
					t.Errorf("a write through ReadTx succeeded on SQLite, want a read-only refusal")
				}
			}
		})
	}
}
