package apptest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// Password is every fixture user's password.
const Password = "correct horse battery"

// User is a signed-in fixture user.
type User struct {
	ID           uuid.UUID
	Email        string
	Token        string
	RefreshToken string
}

// Tenant is a signed-up fixture tenant with its first admin.
type Tenant struct {
	ID    uuid.UUID
	Slug  string
	Admin User
}

// Tokens is a login answer.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// NewSlug returns a unique tenant slug.
func NewSlug(prefix string) string {
	return prefix + "-" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
}

// SignUp creates a tenant and logs its admin in.
func (e *Env) SignUp(t testing.TB) Tenant {
	t.Helper()
	slug := NewSlug("t")
	email := "admin@" + slug + ".test"
	r := e.Do(http.MethodPost, "/api/v1/tenants", "", map[string]any{
		"name": "Tenant " + slug, "slug": slug,
		"admin": map[string]string{"email": email, "password": Password, "display_name": "Admin"},
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("sign up: %d %s", r.Status, r.Body)
	}
	var res struct {
		Tenant struct {
			ID uuid.UUID `json:"id"`
		} `json:"tenant"`
		User struct {
			ID uuid.UUID `json:"id"`
		} `json:"user"`
	}
	r.JSON(t, &res)
	tok := e.Login(t, slug, email, Password)
	return Tenant{ID: res.Tenant.ID, Slug: slug,
		Admin: User{ID: res.User.ID, Email: email, Token: tok.AccessToken, RefreshToken: tok.RefreshToken}}
}

// Login logs a user in, failing the test unless it succeeds.
func (e *Env) Login(t testing.TB, slug, email, password string) Tokens {
	t.Helper()
	r := e.Do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"tenant": slug, "email": email, "password": password})
	if r.Status != http.StatusOK {
		t.Fatalf("login %s/%s: %d %s", slug, email, r.Status, r.Body)
	}
	var tok Tokens
	r.JSON(t, &tok)
	return tok
}

// NewUser has the tenant's admin create a user with the tenant-wide role, and logs them in.
func (e *Env) NewUser(t testing.TB, tn Tenant, role string) User {
	t.Helper()
	email := role + "-" + uuid.NewString()[:8] + "@" + tn.Slug + ".test"
	r := e.Do(http.MethodPost, "/api/v1/users", tn.Admin.Token, map[string]string{
		"email": email, "password": Password, "display_name": role, "role": role})
	if r.Status != http.StatusCreated {
		t.Fatalf("create user: %d %s", r.Status, r.Body)
	}
	var v struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &v)
	tok := e.Login(t, tn.Slug, email, Password)
	return User{ID: v.ID, Email: email, Token: tok.AccessToken, RefreshToken: tok.RefreshToken}
}
