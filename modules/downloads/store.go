package downloads

import (
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// store is the downloads table, always through the tenant-scoped transaction.
type store struct{}

var errNotFound = errors.New("downloads: not found")

func (store) insert(tx *gorm.DB, d *Download) error { return tx.Create(d).Error }

// active counts the owner's downloads waiting or being built.
func (store) active(tx *gorm.DB, owner uuid.UUID) (int64, error) {
	var n int64
	err := tx.Model(&Download{}).Where("owner_id = ? AND status IN ?", owner, []string{StatusPending, StatusRunning}).Count(&n).Error
	return n, err
}

// own loads a download of the owner; another user's is not found.
func (store) own(tx *gorm.DB, id, owner uuid.UUID) (Download, error) {
	var d Download
	err := tx.Where("id = ? AND owner_id = ?", id, owner).Take(&d).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return d, errNotFound
	}
	return d, err
}

func (store) get(tx *gorm.DB, id uuid.UUID) (Download, error) {
	var d Download
	err := tx.Where("id = ?", id).Take(&d).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return d, errNotFound
	}
	return d, err
}

func (store) list(tx *gorm.DB, owner, after uuid.UUID, limit int) ([]Download, error) {
	q := tx.Where("owner_id = ?", owner)
	if after != uuid.Nil {
		q = q.Where("id > ?", after)
	}
	var out []Download
	return out, q.Order("id").Limit(limit).Find(&out).Error
}

// update changes the download's fields if its status is one of from; it reports whether it did.
func (store) update(tx *gorm.DB, id uuid.UUID, from []string, fields map[string]any, now time.Time) (bool, error) {
	fields["updated_at"] = now
	res := tx.Model(&Download{}).Where("id = ? AND status IN ?", id, from).Updates(fields)
	return res.RowsAffected == 1, res.Error
}

// deleteOwn deletes a download of the owner and returns it (its file is the caller's to remove).
func (s store) deleteOwn(tx *gorm.DB, id, owner uuid.UUID) (Download, error) {
	d, err := s.own(tx, id, owner)
	if err != nil {
		return d, err
	}
	return d, tx.Where("id = ? AND owner_id = ?", id, owner).Delete(&Download{}).Error
}

// expiring lists downloads past their expiry whose file may still exist.
func (store) expiring(tx *gorm.DB, now time.Time, limit int) ([]Download, error) {
	var out []Download
	err := tx.Select("tenant_id", "id", "owner_id", "status", "file").Where("expires_at <= ? AND status <> ?", now, StatusExpired).
		Order("expires_at").Limit(limit).Find(&out).Error
	return out, err
}

// stale lists running downloads whose worker has shown no sign of life since before.
func (store) stale(tx *gorm.DB, before time.Time, limit int) ([]uuid.UUID, error) {
	var out []uuid.UUID
	err := tx.Model(&Download{}).Where("status = ? AND updated_at < ?", StatusRunning, before).
		Order("updated_at").Limit(limit).Pluck("id", &out).Error
	return out, err
}

// waiting lists downloads pending since before.
func (store) waiting(tx *gorm.DB, before time.Time, limit int) ([]Download, error) {
	var out []Download
	err := tx.Select("tenant_id", "id", "owner_id").Where("status = ? AND updated_at < ?", StatusPending, before).
		Order("updated_at").Limit(limit).Find(&out).Error
	return out, err
}

// purge deletes up to limit expired rows whose files are gone and that expired before cutoff.
func (store) purge(tx *gorm.DB, cutoff time.Time, limit int) (int64, error) {
	var ids []uuid.UUID
	err := tx.Model(&Download{}).Where("status = ? AND expires_at < ?", StatusExpired, cutoff).
		Order("expires_at").Limit(limit).Pluck("id", &ids).Error
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	res := tx.Where("id IN ? AND status = ?", ids, StatusExpired).Delete(&Download{})
	return res.RowsAffected, res.Error
}

// readyFiles maps those of ids that are ready downloads to their archive's name.
func (store) readyFiles(tx *gorm.DB, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	out := map[uuid.UUID]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []Download
	if err := tx.Select("id", "file").Where("id IN ? AND status = ?", ids, StatusReady).Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, d := range rows {
		out[d.ID] = d.File
	}
	return out, nil
}
