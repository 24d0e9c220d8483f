package users

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/tenancy"
)

// ErrNotFound is "no such user in this tenant".
var ErrNotFound = errors.New("user not found")

// errEmailTaken is a second user with the same e-mail in one tenant.
var errEmailTaken = errors.New("e-mail taken")

// store reads and writes users; every call runs inside a tenant-scoped transaction.
type store struct{}

func (store) insert(tx *gorm.DB, u *User) error {
	err := tx.Create(u).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return errEmailTaken
	}
	return err
}

// get reads one user of the tenant, what the API shows of it (not the password hash). It serves
// every GET /me, so it is one statement on the transaction's connection rather than a gorm query
// (which costs about three times the allocations of the statement itself): the tenant condition
// is written out from the transaction's scope, and row-level security applies as to every
// statement.
func (store) get(tx *gorm.DB, id uuid.UUID) (User, error) {
	var u User
	tenantID, ok := tenancy.TxTenant(tx)
	if !ok {
		return u, tenancy.ErrNoTenant
	}
	err := tx.Statement.ConnPool.QueryRowContext(tx.Statement.Context,
		`SELECT id, email, display_name, disabled, created_at FROM users WHERE tenant_id = $1 AND id = $2`, tenantID, id).
		Scan(&u.ID, &u.Email, &u.DisplayName, &u.Disabled, &u.CreatedAt)
	u.TenantID = tenantID
	if errors.Is(err, sql.ErrNoRows) {
		return u, ErrNotFound
	}
	if err != nil {
		return u, fmt.Errorf("load user %s: %w", id, err)
	}
	return u, nil
}

func (store) byEmail(tx *gorm.DB, email string) (User, error) {
	var u User
	// No stored e-mail holds a NUL byte, and PostgreSQL refuses one in a query (a 500 at login).
	if strings.ContainsRune(email, 0) {
		return u, ErrNotFound
	}
	err := tx.Where("lower(email) = ?", strings.ToLower(email)).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return u, ErrNotFound
	}
	return u, err
}

func (store) list(tx *gorm.DB, after uuid.UUID, limit int) ([]User, error) {
	q := tx.Order("id").Limit(limit)
	if after != uuid.Nil {
		q = q.Where("id > ?", after)
	}
	var out []User
	return out, q.Find(&out).Error
}

func (store) update(tx *gorm.DB, id uuid.UUID, fields map[string]any) error {
	res := tx.Model(&User{}).Where("id = ?", id).Updates(fields)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// activeUser loads a user who may act now: the user exists, is not disabled, and the tenant
// is active. It is the per-request check behind every credential.
func (store) activeUser(tx *gorm.DB, id uuid.UUID) (User, error) {
	var u User
	err := tx.Joins("JOIN tenants ON tenants.id = users.tenant_id AND tenants.status = ?", "active").
		Where("users.id = ? AND users.disabled = ?", id, false).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return u, ErrNotFound
	}
	if err != nil {
		return u, fmt.Errorf("load user %s: %w", id, err)
	}
	return u, nil
}
