package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/events"
)

// Event stream benchmarks, on loopback only. Run with:
//
//	go test -run '^$' -bench 'BenchmarkEvents' -benchtime 200x ./app/
//
// BenchmarkEvents_publishToDelivery opens 1,000 streams of 1,000 distinct users of one tenant,
// half on each of two API nodes (same PostgreSQL, same Redis), publishes on node 1 one event at
// a time and reports the publish-to-delivery latency, p50 and p99, over every delivery:
//   - tenant-wide: every one of the 1,000 streams receives each event;
//   - item: an item event of one user; each node checks rbac for its ~500 other streams, and the
//     owner and the tenant admin receive it (the admin check is what is measured).
func BenchmarkEvents_publishToDelivery(b *testing.B) {
	const subscribers = 1000
	n1 := apptest.Start(b)
	n2 := n1.Peer(b)
	tn := n1.SignUp(b)
	users := make([]apptest.User, subscribers-1)
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, 8)
	for i := range users {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			u := n1.NewUser(b, tn, "member")
			mu.Lock()
			users[i] = u
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	tokens := []string{tn.Admin.Token}
	for _, u := range users {
		tokens = append(tokens, u.Token)
	}
	ws := uuid.New()
	clients := make([]*latencyClient, len(tokens))
	for i, tok := range tokens {
		node := n1
		if i%2 == 1 {
			node = n2
		}
		clients[i] = openLatencyClient(b, node, tok)
	}
	b.Logf("%d streams open: node 1 %d, node 2 %d", len(clients), n1.App.Events.Subscribers(), n2.App.Events.Subscribers())

	run := func(b *testing.B, event func(i int) events.Event, receivers []*latencyClient) {
		for _, c := range receivers {
			c.reset()
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			e := event(i)
			e.Data = map[string]int64{"sent": time.Now().UnixNano(), "seq": int64(i)}
			if err := n1.App.Events.Publish(context.Background(), e); err != nil {
				b.Fatal(err)
			}
			for _, c := range receivers {
				c.waitFor(b, int64(i))
			}
		}
		b.StopTimer()
		var all []time.Duration
		for _, c := range receivers {
			all = append(all, c.latencies()...)
		}
		slices.Sort(all)
		p := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))].Microseconds()) / 1000 }
		b.ReportMetric(p(0.5), "p50-ms")
		b.ReportMetric(p(0.99), "p99-ms")
		b.ReportMetric(float64(len(all))/float64(b.N), "deliveries/event")
	}
	b.Run("tenant-wide", func(b *testing.B) {
		run(b, func(int) events.Event { return events.Event{TenantID: tn.ID, Name: "queue_counts", TenantWide: true} }, clients)
	})
	b.Run("item", func(b *testing.B) {
		// The owner streams on node 2, the tenant admin on node 1: both nodes check every stream.
		owner := users[0].ID
		run(b, func(int) events.Event {
			return events.Event{TenantID: tn.ID, Name: "queue_item", UserID: owner, WorkspaceID: ws}
		}, []*latencyClient{clients[0], clients[1]})
	})
}

// latencyClient is one stream that records each event's latency from its "sent" stamp.
type latencyClient struct {
	mu   sync.Mutex
	lat  []time.Duration
	last int64
	cond *sync.Cond
}

func openLatencyClient(b *testing.B, node *apptest.Env, token string) *latencyClient {
	b.Helper()
	r := node.Do(http.MethodPost, "/api/v1/events/ticket", token, nil)
	if r.Status != http.StatusCreated {
		b.Fatalf("ticket: %d %s", r.Status, r.Body)
	}
	var tk events.Ticket
	r.JSON(b, &tk)
	s := apptest.OpenSSE(b, node.URL(), "/api/v1/events?ticket="+url.QueryEscape(tk.Ticket), nil)
	if s.Status != http.StatusOK {
		b.Fatalf("stream: %d %s", s.Status, s.Body)
	}
	s.NextNamed(b, "ready")
	c := &latencyClient{last: -1}
	c.cond = sync.NewCond(&c.mu)
	go func() {
		for {
			ev, ok := s.TryNext(time.Hour)
			if !ok {
				return
			}
			now := time.Now()
			var d struct{ Sent, Seq int64 }
			if json.Unmarshal([]byte(ev.Data), &d) != nil {
				continue
			}
			c.mu.Lock()
			c.lat = append(c.lat, now.Sub(time.Unix(0, d.Sent)))
			c.last = d.Seq
			c.cond.Broadcast()
			c.mu.Unlock()
		}
	}()
	return c
}

func (c *latencyClient) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lat, c.last = nil, -1
}

func (c *latencyClient) waitFor(b *testing.B, seq int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.last < seq {
		c.cond.Wait()
	}
}

func (c *latencyClient) latencies() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lat)
}

// BenchmarkEvents_idleSubscriberMemory opens 1,000 idle streams on one node over raw loopback
// connections (the client side holds nothing but the socket) and reports the memory the process
// holds per stream: Go heap in use plus goroutine stacks, after a GC, before and after.
func BenchmarkEvents_idleSubscriberMemory(b *testing.B) {
	const n = 1000
	env := apptest.Start(b)
	tn := env.SignUp(b)
	base := env.URL()
	addr := strings.TrimPrefix(base, "http://")
	tickets := make([]string, n)
	for i := range tickets {
		r := env.Do(http.MethodPost, "/api/v1/events/ticket", tn.Admin.Token, nil)
		var tk events.Ticket
		r.JSON(b, &tk)
		tickets[i] = tk.Ticket
	}
	// Warm the server's pools with one stream so the measurement is of the streams themselves.
	warm := dialStream(b, addr, tickets[0])
	defer warm.Close()
	before := memNow()
	conns := make([]net.Conn, 0, n-1)
	for _, tk := range tickets[1:] {
		conns = append(conns, dialStream(b, addr, tk))
	}
	if got := env.App.Events.Subscribers(); got != n {
		b.Fatalf("%d streams registered, want %d", got, n)
	}
	after := memNow()
	k := float64(len(conns)) * 1024
	live := float64(after.live-before.live) / k
	spans := float64(after.inUse-before.inUse) / k
	b.ReportMetric(live, "live-KiB/stream")
	b.ReportMetric(spans, "inuse-KiB/stream")
	b.Logf("%d idle streams, per stream: %.1f KiB live (heap objects + stacks), %.1f KiB in use (heap spans + stacks)",
		len(conns), live, spans)
	for _, c := range conns {
		_ = c.Close()
	}
}

// memUse is the process's memory after a full collection: live is the heap objects reachable
// plus goroutine stacks; inUse counts whole heap spans in use (fragmentation included).
type memUse struct{ live, inUse uint64 }

func memNow() memUse {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memUse{live: m.HeapAlloc + m.StackInuse, inUse: m.HeapInuse + m.StackInuse}
}

// dialStream opens a stream on a raw connection and reads up to its ready event.
func dialStream(b *testing.B, addr, ticket string) net.Conn {
	b.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(c, "GET /api/v1/events?ticket=%s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", url.QueryEscape(ticket), addr)
	r := bufio.NewReaderSize(c, 512)
	status, err := r.ReadString('\n')
	if err != nil || !strings.Contains(status, " 200 ") {
		b.Fatalf("stream: %q %v", status, err)
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		if strings.Contains(line, "event: ready") {
			break
		}
	}
	return c
}
