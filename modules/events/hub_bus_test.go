package events

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/atelier-hq/atelier/tenancy"
)

// busWatcher passes the hub's subscription losses and joins on.
type busWatcher struct{ lost, joined chan struct{} }

func (w *busWatcher) PrincipalEnded(uuid.UUID, *uuid.UUID, *uuid.UUID, *uuid.UUID) {}
func (w *busWatcher) BusLost()                                                     { w.lost <- struct{}{} }
func (w *busWatcher) BusJoined()                                                   { w.joined <- struct{}{} }

func testRedis(t *testing.T, name string) *redis.Client {
	t.Helper()
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opt.ClientName = name
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func within(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s never came", what)
	}
}

func nextFrame(t *testing.T, st *Stream) *frame {
	t.Helper()
	select {
	case f := <-st.sub.ch:
		return f
	case <-time.After(20 * time.Second):
		t.Fatal("no event reached the stream")
		return nil
	}
}

// The hub reads its subscription itself: events reach the streams, a quiet subscription is pinged
// without being taken for lost, and a cut connection is reported lost, then joined again once
// go-redis has subscribed anew, after which events flow again.
func TestHub_eventsFlowAndALostSubscriptionIsSeen(t *testing.T) {
	t.Parallel()
	name := "atelier-hub-" + uuid.NewString()[:8]
	rdb := testRedis(t, name)
	h := NewHub(rdb, nil, nil, Config{BusPing: 20 * time.Millisecond}, nil)
	w := &busWatcher{lost: make(chan struct{}, 16), joined: make(chan struct{}, 16)}
	h.Watch(w)
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	within(t, w.joined, "the first subscription")

	tenant := uuid.New()
	st, err := h.subscribe(context.Background(), tenancy.Principal{TenantID: tenant, UserID: uuid.New()}, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	publish := func(name string) {
		t.Helper()
		if err := h.Publish(context.Background(), Event{TenantID: tenant, Name: name, Data: map[string]int{"n": 1}, TenantWide: true}); err != nil {
			t.Fatal(err)
		}
		if f := nextFrame(t, st); f.tenant != tenant || !strings.Contains(string(f.wire), name) {
			t.Fatalf("got %q for tenant %s", f.wire, f.tenant)
		}
	}
	publish("before")

	// Quiet for many ping intervals: pings answer, nothing is reported lost.
	quiet := time.NewTimer(300 * time.Millisecond)
	select {
	case <-w.lost:
		t.Fatal("a quiet, healthy subscription was reported lost")
	case <-quiet.C:
	}

	// Cut the hub's subscription connection as a network failure would.
	ctl := testRedis(t, name+"-ctl")
	list, err := ctl.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, " name="+name+" ") && !strings.Contains(line, " sub=0 ") {
			id, _, _ := strings.Cut(strings.TrimPrefix(line, "id="), " ")
			if err := ctl.Do(context.Background(), "CLIENT", "KILL", "ID", id).Err(); err != nil {
				t.Fatal(err)
			}
			killed++
		}
	}
	if killed == 0 {
		t.Fatalf("no subscription connection named %s", name)
	}
	within(t, w.lost, "the loss of the subscription")
	within(t, w.joined, "the new subscription")
	publish("after")
}
