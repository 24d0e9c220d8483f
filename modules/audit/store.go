package audit

import (
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// store reads and writes the audit log; every call runs inside a tenant-scoped transaction.
type store struct{}

func (store) insert(tx *gorm.DB, rows []Entry) error {
	return tx.Create(&rows).Error
}

// list returns up to limit entries matching f, newest first, older than the cursor id. Ids are
// UUIDv7 taken when the entry was recorded, so id order is time order.
func (store) list(tx *gorm.DB, f Filter, before uuid.UUID, limit int) ([]Entry, error) {
	q := tx.Order("id DESC").Limit(limit)
	if f.Subject != "" {
		q = q.Where("subject = ?", f.Subject)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.Object != "" {
		q = q.Where("object = ?", f.Object)
	}
	if f.Result != "" {
		q = q.Where("result = ?", f.Result)
	}
	if !f.From.IsZero() {
		q = q.Where("at >= ?", f.From)
	}
	if !f.To.IsZero() {
		q = q.Where("at <= ?", f.To)
	}
	if before != uuid.Nil {
		q = q.Where("id < ?", before)
	}
	var out []Entry
	return out, q.Find(&out).Error
}

// prune deletes up to limit entries recorded before the cutoff, oldest first.
func (store) prune(tx *gorm.DB, before time.Time, limit int) (int64, error) {
	oldest := tx.Model(&Entry{}).Select("id").Where("at < ?", before).Order("id").Limit(limit)
	res := tx.Where("id IN (?)", oldest).Delete(&Entry{})
	return res.RowsAffected, res.Error
}
