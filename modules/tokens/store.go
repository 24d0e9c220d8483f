package tokens

import (
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

var (
	// errNotFound is "no such token in this tenant (for this owner)".
	errNotFound = errors.New("token not found")
	// errPrefixTaken is a visible prefix already in use (a new id is drawn).
	errPrefixTaken = errors.New("token prefix taken")
)

// store reads and writes tokens and their access log; every call runs inside a tenant-scoped
// transaction (DB.Tx), so the tenant is in every statement and, on PostgreSQL, enforced by RLS.
type store struct{}

func (store) insert(tx *gorm.DB, t *Token) error {
	err := tx.Create(t).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return errPrefixTaken
	}
	return err
}

func (store) get(tx *gorm.DB, id uuid.UUID) (Token, error) {
	var t Token
	err := tx.Where("id = ?", id).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return t, errNotFound
	}
	return t, err
}

// listOwn pages through the user's tokens in id (creation) order.
func (store) listOwn(tx *gorm.DB, userID, after uuid.UUID, limit int) ([]Token, error) {
	q := tx.Where("user_id = ?", userID).Order("id").Limit(limit)
	if after != uuid.Nil {
		q = q.Where("id > ?", after)
	}
	var out []Token
	return out, q.Find(&out).Error
}

// owned reports whether the token exists and belongs to the user.
func (store) owned(tx *gorm.DB, id, userID uuid.UUID) (bool, error) {
	var n int64
	err := tx.Model(&Token{}).Where("id = ? AND user_id = ?", id, userID).Count(&n).Error
	return n > 0, err
}

// revokeOwn revokes the token if, and only if, it belongs to the user: the owner is part of the
// statement's predicate, so no earlier check can be skipped or raced. Revoking an already
// revoked token of one's own keeps its first revocation time and still counts as found.
func (store) revokeOwn(tx *gorm.DB, id, userID uuid.UUID, at time.Time) error {
	res := tx.Model(&Token{}).Where("id = ? AND user_id = ?", id, userID).
		Update("revoked_at", gorm.Expr("COALESCE(revoked_at, ?)", at))
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return errNotFound
	}
	return nil
}

// revokeAny revokes any token of the tenant (tenant admins).
func (store) revokeAny(tx *gorm.DB, id uuid.UUID, at time.Time) error {
	res := tx.Model(&Token{}).Where("id = ?", id).Update("revoked_at", gorm.Expr("COALESCE(revoked_at, ?)", at))
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return errNotFound
	}
	return nil
}

// touch records a use, unless one was recorded since staleBefore: at most one write per token
// and interval however many requests it makes.
func (store) touch(tx *gorm.DB, id uuid.UUID, at, staleBefore time.Time) error {
	return tx.Model(&Token{}).Where("id = ? AND (last_used_at IS NULL OR last_used_at < ?)", id, staleBefore).
		Update("last_used_at", at).Error
}

// adminRow is a token joined with its owner.
type adminRow struct {
	Token
	OwnerEmail       string
	OwnerDisplayName string
}

// listAll pages through every token of the tenant with its owner.
func (store) listAll(tx *gorm.DB, after uuid.UUID, limit int) ([]adminRow, error) {
	q := tx.Model(&Token{}).
		Select("personal_tokens.*, users.email AS owner_email, users.display_name AS owner_display_name").
		Joins("JOIN users ON users.tenant_id = personal_tokens.tenant_id AND users.id = personal_tokens.user_id").
		Order("personal_tokens.id").Limit(limit)
	if after != uuid.Nil {
		q = q.Where("personal_tokens.id > ?", after)
	}
	var out []adminRow
	return out, q.Scan(&out).Error
}

// accessLog pages through a token's log, newest first, older than the cursor id. Ids are UUIDv7
// taken when the request was seen, so id order is time order.
func (store) accessLog(tx *gorm.DB, tokenID, before uuid.UUID, limit int) ([]AccessEntry, error) {
	q := tx.Where("token_id = ?", tokenID).Order("id DESC").Limit(limit)
	if before != uuid.Nil {
		q = q.Where("id < ?", before)
	}
	var out []AccessEntry
	return out, q.Find(&out).Error
}

func (store) insertLog(tx *gorm.DB, rows []AccessEntry) error {
	return tx.Create(&rows).Error
}

// pruneLog deletes up to limit entries seen before the cutoff, oldest first.
func (store) pruneLog(tx *gorm.DB, before time.Time, limit int) (int64, error) {
	oldest := tx.Model(&AccessEntry{}).Select("id").Where("at < ?", before).Order("id").Limit(limit)
	res := tx.Where("id IN (?)", oldest).Delete(&AccessEntry{})
	return res.RowsAffected, res.Error
}

// expiring lists live tokens that expire in (now, until] and whose owner was not yet told.
func (store) expiring(tx *gorm.DB, now, until time.Time, limit int) ([]Token, error) {
	var out []Token
	err := tx.Where("revoked_at IS NULL AND notified_at IS NULL AND expires_at > ? AND expires_at <= ?", now, until).
		Order("expires_at, id").Limit(limit).Find(&out).Error
	return out, err
}

// claimNotice marks the token notified; false when another run marked it first.
func (store) claimNotice(tx *gorm.DB, id uuid.UUID, at time.Time) (bool, error) {
	res := tx.Model(&Token{}).Where("id = ? AND notified_at IS NULL", id).Update("notified_at", at)
	return res.RowsAffected == 1, res.Error
}

// releaseNotice undoes a claim whose notice could not be delivered, so a retry sends it.
func (store) releaseNotice(tx *gorm.DB, id uuid.UUID) error {
	return tx.Model(&Token{}).Where("id = ?", id).Update("notified_at", nil).Error
}
