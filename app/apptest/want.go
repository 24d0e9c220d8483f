package apptest

import (
	"net/http"
	"testing"
)

// WantStatus fails the test unless the response has the status.
func WantStatus(t testing.TB, r Response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("got %d %s, want %d", r.Status, r.Body, status)
	}
}

// WantError fails the test unless the response has the status and the error code.
func WantError(t testing.TB, r Response, status int, code string) {
	t.Helper()
	if r.Status != status || r.ErrorCode() != code {
		t.Fatalf("got %d %s, want %d with code %q", r.Status, r.Body, status, code)
	}
}

// WantInvalid fails the test unless the response is a 400 "invalid" whose first detail names
// the field.
func WantInvalid(t testing.TB, r Response, field string) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Details []struct {
				Field string `json:"field"`
			} `json:"details"`
		} `json:"error"`
	}
	WantError(t, r, http.StatusBadRequest, "invalid")
	r.JSON(t, &e)
	if len(e.Error.Details) == 0 || e.Error.Details[0].Field != field {
		t.Fatalf("got %d %s, want 400 invalid naming %q first", r.Status, r.Body, field)
	}
}
