package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"
)

func TestNewTask_checksTypeName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		typ    string
		wantOK bool
	}{
		{"auth:purge_refresh_tokens", true},
		{"downloads:build_zip", true},
		{"purge", false},
		{":purge", false},
		{"auth:", false},
		{"auth: purge", false},
	}
	for _, tc := range cases {
		_, err := NewTask(tc.typ, struct{}{})
		if (err == nil) != tc.wantOK {
			t.Errorf("NewTask(%q) error = %v, want ok %v", tc.typ, err, tc.wantOK)
		}
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		payload  []byte
		want     greeting
		wantSkip bool
	}{
		{"valid", []byte(`{"name":"Ada","count":2}`), greeting{Name: "Ada", Count: 2}, false},
		{"unknown fields are tolerated", []byte(`{"name":"Ada","added_later":true}`), greeting{Name: "Ada"}, false},
		{"truncated", []byte(`{"name":`), greeting{}, true},
		{"wrong type", []byte(`{"count":"two"}`), greeting{}, true},
		{"empty", nil, greeting{}, true},
	}
	for _, tc := range cases {
		got, err := Decode[greeting](asynq.NewTask("test:decode", tc.payload))
		if errors.Is(err, asynq.SkipRetry) != tc.wantSkip || (err != nil) != tc.wantSkip {
			t.Errorf("%s: err = %v, want SkipRetry %v", tc.name, err, tc.wantSkip)
		}
		if got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestFailureOutcome(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name              string
		retried, maxRetry int
		err               error
		want              string
	}{
		{"first failure", 0, 3, errors.New("x"), outcomeRetry},
		{"last allowed retry failed", 3, 3, errors.New("x"), outcomeArchived},
		{"no retries", 0, 0, errors.New("x"), outcomeArchived},
		{"skip retry", 0, 3, errors.Join(errors.New("x"), asynq.SkipRetry), outcomeArchived},
		{"revoked", 0, 3, asynq.RevokeTask, outcomeRevoked},
	}
	for _, tc := range cases {
		if got := failureOutcome(tc.retried, tc.maxRetry, tc.err); got != tc.want {
			t.Errorf("%s: outcome = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestParseRedisURL_asynqMatchesGoRedis(t *testing.T) {
	t.Parallel()
	cases := []struct {
		url       string
		wantAddr  string
		wantUser  string
		wantDB    int
		wantError bool
	}{
		{"redis://127.0.0.1:6379/0", "127.0.0.1:6379", "", 0, false},
		{"redis://cache.internal/2", "cache.internal:6379", "", 2, false},
		{"redis://app:secret@cache.internal:6380/1", "cache.internal:6380", "app", 1, false},
		{"rediss://:secret@cache.internal", "cache.internal:6379", "", 0, false},
		{"http://cache.internal", "", "", 0, true},
	}
	for _, tc := range cases {
		_, connOpt, err := parseRedisURL(tc.url)
		if (err != nil) != tc.wantError {
			t.Errorf("%s: err = %v", tc.url, err)
			continue
		}
		if tc.wantError {
			continue
		}
		c, ok := connOpt.(asynq.RedisClientOpt)
		if !ok || c.Addr != tc.wantAddr || c.Username != tc.wantUser || c.DB != tc.wantDB {
			t.Errorf("%s: asynq options = %+v", tc.url, connOpt)
		}
	}
}

func TestOpenBroker_failsWhenRedisIsUnreachable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if b, err := OpenBroker(ctx, "redis://127.0.0.1:1/0", nil); err == nil {
		_ = b.Close()
		t.Fatal("OpenBroker succeeded against a closed port")
	}
}

func TestOpenBroker_embeddedExpiresKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	if !e.b.Embedded() {
		t.Fatal("empty URL did not give the embedded broker")
	}
	ctx := context.Background()
	if err := e.b.Redis().Set(ctx, "jobs:test:lock", "1", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	// Move the embedded server's clock past the TTL instead of waiting for it: a key expires
	// on the clock only when the broker turned clock-driven TTLs on (miniredis freezes them by
	// default, which this test is about).
	e.b.embedded.SetTime(time.Now().Add(2 * time.Minute))
	if n := e.b.Redis().Exists(ctx, "jobs:test:lock").Val(); n != 0 {
		t.Fatal("the key outlived its TTL on the embedded broker")
	}
}
