package workflows

import (
	"github.com/google/uuid"
	"gorm.io/gorm"
)

// StoreUpdate and StoreDelete expose the guarded write statements to the tests, which call them
// as another user with no rule in front.
func StoreUpdate(tx *gorm.DB, id uuid.UUID, owner *uuid.UUID, fields map[string]any) (bool, error) {
	return store{}.update(tx, id, owner, fields)
}

// StoreDelete is store.delete.
func StoreDelete(tx *gorm.DB, id uuid.UUID, owner *uuid.UUID) (bool, error) {
	return store{}.delete(tx, id, owner)
}

// ListSQL is the listing statement for the sight, for EXPLAIN in the benchmark.
func ListSQL(tx *gorm.DB, user, ws uuid.UUID, admin bool, sharedIn []uuid.UUID, f Filter) string {
	v := sight{user: user, ws: ws, admin: admin, sharedIn: sharedIn}
	return tx.ToSQL(func(tx *gorm.DB) *gorm.DB {
		var out []listed
		q := filtered(tx.Model(&Workflow{}).Select(summaryColumns+", "+tagListColumn(tx)), v, f)
		return q.Order("workflows.id").Limit(51).Find(&out)
	})
}
