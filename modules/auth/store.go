package auth

import (
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// RefreshToken is one link of a session's rotation chain. Only the secret's hash is kept.
type RefreshToken struct {
	TenantID   uuid.UUID `gorm:"primaryKey"`
	ID         uuid.UUID `gorm:"primaryKey"`
	UserID     uuid.UUID
	FamilyID   uuid.UUID
	SecretHash []byte
	ExpiresAt  time.Time
	RotatedAt  *time.Time
	RevokedAt  *time.Time
	CreatedAt  time.Time
}

var errNoRefresh = errors.New("refresh token not found")

type store struct{}

func (store) insert(tx *gorm.DB, rt *RefreshToken) error { return tx.Create(rt).Error }

// lockForRotation reads the token and locks its row, so two concurrent uses of one token are
// serialised: the second sees it rotated and is treated as reuse.
func (store) lockForRotation(tx *gorm.DB, id uuid.UUID) (RefreshToken, error) {
	var rt RefreshToken
	q := tx.Where("id = ?", id)
	if tx.Dialector.Name() == "postgres" {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	err := q.Take(&rt).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return rt, errNoRefresh
	}
	return rt, err
}

func (store) markRotated(tx *gorm.DB, id uuid.UUID, at time.Time) error {
	return tx.Model(&RefreshToken{}).Where("id = ? AND rotated_at IS NULL", id).Update("rotated_at", at).Error
}

func (store) revokeFamily(tx *gorm.DB, familyID uuid.UUID, at time.Time) error {
	return tx.Model(&RefreshToken{}).Where("family_id = ? AND revoked_at IS NULL", familyID).
		Update("revoked_at", at).Error
}

func (store) revokeUser(tx *gorm.DB, userID uuid.UUID, at time.Time) error {
	return tx.Model(&RefreshToken{}).Where("user_id = ? AND revoked_at IS NULL", userID).
		Update("revoked_at", at).Error
}

// sessionLive reports whether the session (family) still has an unrevoked, unexpired link.
func (store) sessionLive(tx *gorm.DB, userID, familyID uuid.UUID, now time.Time) (bool, error) {
	// An existence probe: the first matching row answers (a COUNT with LIMIT 1 would count
	// every row, then limit the one-row result).
	var ids []uuid.UUID
	err := tx.Model(&RefreshToken{}).
		Where("family_id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?", familyID, userID, now).
		Limit(1).Pluck("id", &ids).Error
	return len(ids) > 0, err
}

// purge deletes refresh tokens that can never be used again: expired ones, and revoked ones
// older than keep. Rotated tokens stay until they expire, so reuse is recognised all their life.
func (store) purge(tx *gorm.DB, now time.Time, keep time.Duration) (int64, error) {
	res := tx.Where("expires_at < ? OR revoked_at < ?", now, now.Add(-keep)).
		Delete(&RefreshToken{})
	return res.RowsAffected, res.Error
}
