// Package tokens is personal access tokens: long-lived, scoped credentials a user mints for
// scripts and CI. A token acts as its owner and never does more than the owner nor more than its
// scopes; it expires; it is stored hashed; every request made with it is written to its access
// log, which a periodic job prunes past the retention.
package tokens

import (
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/datatypes"
)

// Scopes a token can carry. `read` allows safe methods only; `write` adds everything the owner
// may change.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)

// Limits of the create input.
const (
	MaxNameLen         = 100
	MinExpiresInDays   = 1
	MaxExpiresInDays   = 3650
	DefaultExpiresDays = 365
)

// Token is a personal access token as stored: its secret only as a SHA-256 hash.
type Token struct {
	TenantID   uuid.UUID `gorm:"primaryKey"`
	ID         uuid.UUID `gorm:"primaryKey"`
	UserID     uuid.UUID
	Name       string
	Prefix     string
	SecretHash []byte
	Scopes     datatypes.JSONSlice[string]
	ExpiresAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
	// NotifiedAt is when the owner was told the token expires soon.
	NotifiedAt *time.Time
	CreatedAt  time.Time
}

// TableName is the tokens table.
func (Token) TableName() string { return "personal_tokens" }

// AccessEntry is one request made with a token.
type AccessEntry struct {
	TenantID  uuid.UUID `gorm:"primaryKey"`
	ID        uuid.UUID `gorm:"primaryKey"`
	TokenID   uuid.UUID
	At        time.Time
	RequestID string
	Method    string
	Path      string
	Status    int
	ClientIP  string
	UserAgent string
}

// TableName is the access log table.
func (AccessEntry) TableName() string { return "token_access_log" }

// CreateInput mints a token. Absent scopes mean ["read"]; absent expires_in_days means 365.
type CreateInput struct {
	Name          string   `json:"name" validate:"required,max=100,name" description:"1–100 characters"`
	Scopes        []string `json:"scopes" description:"[\"read\"] (default) or [\"read\",\"write\"]; anything else is refused"`
	ExpiresInDays *int     `json:"expires_in_days" validate:"omitempty,min=1,max=3650" description:"1–3650, default 365"`
}

// Created is the answer to a mint: the only time the secret is shown.
type Created struct {
	ID        uuid.UUID `json:"id"`
	Name      string    `json:"name"`
	Prefix    string    `json:"prefix"`
	Scopes    []string  `json:"scopes"`
	ExpiresAt time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at"`
	// Token is the secret; it cannot be shown again.
	Token string `json:"token"`
}

// View is a token as lists show it: never the secret nor its hash.
type View struct {
	ID         uuid.UUID  `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scopes     []string   `json:"scopes"`
	ExpiresAt  time.Time  `json:"expires_at"`
	Expired    bool       `json:"expired"`
	LastUsedAt *time.Time `json:"last_used_at"`
	Revoked    bool       `json:"revoked"`
	RevokedAt  *time.Time `json:"revoked_at"`
	CreatedAt  time.Time  `json:"created_at"`
}

// Owner is the user a token belongs to, as the admin view shows them.
type Owner struct {
	ID          uuid.UUID `json:"id"`
	Email       string    `json:"email"`
	DisplayName string    `json:"display_name"`
}

// AdminView is a token of the tenant with its owner (tenant admins and auditors).
type AdminView struct {
	View
	Owner Owner `json:"owner"`
}

// LogView is one access log entry as the owner sees it.
type LogView struct {
	ID        uuid.UUID `json:"id"`
	At        time.Time `json:"at"`
	RequestID string    `json:"request_id"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Status    int       `json:"status"`
	ClientIP  string    `json:"client_ip"`
	UserAgent string    `json:"user_agent"`
}

func (t Token) view(now time.Time) View {
	scopes := slices.Clone([]string(t.Scopes))
	if scopes == nil {
		scopes = []string{}
	}
	return View{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Scopes: scopes, ExpiresAt: t.ExpiresAt.UTC(),
		Expired: !t.ExpiresAt.After(now), LastUsedAt: utc(t.LastUsedAt), Revoked: t.RevokedAt != nil,
		RevokedAt: utc(t.RevokedAt), CreatedAt: t.CreatedAt.UTC()}
}

func (e AccessEntry) view() LogView {
	return LogView{ID: e.ID, At: e.At.UTC(), RequestID: e.RequestID, Method: e.Method, Path: e.Path,
		Status: e.Status, ClientIP: e.ClientIP, UserAgent: e.UserAgent}
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
