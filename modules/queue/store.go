package queue

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/datatypes"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// store is the queue's SQL, always through the tenant-scoped transaction.
type store struct{}

var errNotFound = errors.New("queue item not found")

var active = []string{StatusPending, StatusRunning}

// withOwner selects the item columns and the owner's name and e-mail. The join names the tenant
// itself: SQLite has no row-level security to do it.
func withOwner(tx *gorm.DB) *gorm.DB {
	return tx.Model(&Item{}).
		Select("queue_items.*, users.display_name AS owner_display_name, users.email AS owner_email").
		Joins("LEFT JOIN users ON users.tenant_id = queue_items.tenant_id AND users.id = queue_items.owner_id")
}

func (store) insert(tx *gorm.DB, it *Item) error { return tx.Create(it).Error }

func (store) get(tx *gorm.DB, id uuid.UUID) (listed, error) {
	var rows []listed
	if err := withOwner(tx).Where("queue_items.id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return listed{}, fmt.Errorf("get queue item: %w", err)
	}
	if len(rows) == 0 {
		return listed{}, errNotFound
	}
	return rows[0], nil
}

// list is a page of the workspace's queue in enqueue order (ids are UUIDv7).
func (store) list(tx *gorm.DB, wsID, after uuid.UUID, limit int) ([]listed, error) {
	q := withOwner(tx).Where("queue_items.workspace_id = ?", wsID)
	if after != uuid.Nil {
		q = q.Where("queue_items.id > ?", after)
	}
	var rows []listed
	if err := q.Order("queue_items.id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list queue: %w", err)
	}
	return rows, nil
}

// pendingOf counts the user's items not started yet, tenant-wide.
func (store) pendingOf(tx *gorm.DB, owner uuid.UUID) (int64, error) {
	var n int64
	err := tx.Model(&Item{}).Where("owner_id = ? AND status = ?", owner, StatusPending).Count(&n).Error
	return n, err
}

// counts is the tenant's pending and running items.
func (store) counts(tx *gorm.DB) (CountsEvent, error) {
	var rows []struct {
		Status string
		N      int64
	}
	err := tx.Model(&Item{}).Select("status, count(*) AS n").Where("status IN ?", active).Group("status").Scan(&rows).Error
	var c CountsEvent
	for _, r := range rows {
		switch r.Status {
		case StatusPending:
			c.Pending = r.N
		case StatusRunning:
			c.Running = r.N
		}
	}
	return c, err
}

// claim starts (or restarts, after a worker stopped mid-run) an item: a new attempt with no
// progress, leased until lease. ok is false when the item is finished or gone.
func (store) claim(tx *gorm.DB, id uuid.UUID, now, lease time.Time) (bool, error) {
	res := tx.Model(&Item{}).Where("id = ? AND status IN ?", id, active).Updates(map[string]any{
		"status": StatusRunning, "attempt": gorm.Expr("attempt + 1"), "progress": 0, "error": "",
		"result_image_ids": datatypes.JSON("[]"), "started_at": now, "lease_until": lease, "finished_at": nil,
		"updated_at": now,
	})
	return res.RowsAffected == 1, res.Error
}

// progress records the attempt's progress and extends its lease; ok is false when the item is
// no longer this attempt's to run (canceled, deleted, swept, restarted).
func (store) progress(tx *gorm.DB, id uuid.UUID, attempt int, p float64, now, lease time.Time) (bool, error) {
	res := tx.Model(&Item{}).Where("id = ? AND status = ? AND attempt = ?", id, StatusRunning, attempt).
		Updates(map[string]any{"progress": p, "lease_until": lease, "updated_at": now})
	return res.RowsAffected == 1, res.Error
}

// finish ends the attempt; ok is false when the item is no longer this attempt's.
func (store) finish(tx *gorm.DB, id uuid.UUID, attempt int, status, reason string, results []uuid.UUID, now time.Time) (bool, error) {
	fields := map[string]any{"status": status, "error": reason, "lease_until": nil, "finished_at": now, "updated_at": now}
	if status == StatusCompleted {
		fields["progress"] = 1
		fields["result_image_ids"] = idsJSON(results)
	}
	res := tx.Model(&Item{}).Where("id = ? AND status = ? AND attempt = ?", id, StatusRunning, attempt).Updates(fields)
	return res.RowsAffected == 1, res.Error
}

// cancel cancels the active items the query selects and returns them as they are now.
func (store) cancel(tx *gorm.DB, scope func(*gorm.DB) *gorm.DB, now time.Time) ([]Item, error) {
	var rows []Item
	res := scope(tx.Model(&rows)).Clauses(clause.Returning{}).Where("status IN ?", active).
		Updates(map[string]any{"status": StatusCanceled, "lease_until": nil, "finished_at": now, "updated_at": now})
	return rows, res.Error
}

// retry makes a failed or canceled item pending again; ok is false when it is not.
func (store) retry(tx *gorm.DB, id uuid.UUID, now time.Time) (bool, error) {
	res := tx.Model(&Item{}).Where("id = ? AND status IN ?", id, []string{StatusFailed, StatusCanceled}).
		Updates(map[string]any{"status": StatusPending, "progress": 0, "error": "", "result_image_ids": datatypes.JSON("[]"),
			"started_at": nil, "finished_at": nil, "lease_until": nil, "updated_at": now})
	return res.RowsAffected == 1, res.Error
}

func (store) delete(tx *gorm.DB, id uuid.UUID) (bool, error) {
	res := tx.Where("id = ?", id).Delete(&Item{})
	return res.RowsAffected == 1, res.Error
}

// sweep fails the running items whose lease ended before now (their worker stopped reporting)
// and returns them.
func (store) sweep(tx *gorm.DB, now time.Time, reason string) ([]Item, error) {
	var rows []Item
	res := tx.Model(&rows).Clauses(clause.Returning{}).
		Where("status = ? AND lease_until < ?", StatusRunning, now).
		Updates(map[string]any{"status": StatusFailed, "error": reason, "lease_until": nil, "finished_at": now, "updated_at": now})
	return rows, res.Error
}

func idsJSON(ids []uuid.UUID) datatypes.JSON {
	if len(ids) == 0 {
		return datatypes.JSON("[]")
	}
	b := []byte{'['}
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, id.String()...)
		b = append(b, '"')
	}
	return datatypes.JSON(append(b, ']'))
}
