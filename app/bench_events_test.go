package app_test

import (
	"bufio"
	"bytes"
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
	"github.com/atelier-hq/atelier/configs"
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
	setup := time.Now()
	n1 := apptest.Start(b, func(c *configs.Config) { c.LoginLimitPerAddress = 1 << 20 })
	n2 := n1.Peer(b)
	tn := n1.SignUp(b)
	users := make([]apptest.User, subscribers-1)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range users {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			users[i] = n1.NewUser(b, tn, "member")
		}(i)
	}
	wg.Wait()
	r := n1.Do(http.MethodPost, "/api/v1/workspaces", tn.Admin.Token, map[string]string{"name": "Bench", "slug": "bench"})
	if r.Status != http.StatusCreated {
		b.Fatalf("workspace: %d %s", r.Status, r.Body)
	}
	var ws struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(b, &ws)
	tokens := []string{tn.Admin.Token}
	for _, u := range users {
		tokens = append(tokens, u.Token)
	}
	clients := make([]*latencyClient, len(tokens))
	for i, tok := range tokens {
		node := n1
		if i%2 == 1 {
			node = n2
		}
		clients[i] = openLatencyClient(b, node, tok)
	}
	b.Logf("%d streams open (node 1 %d, node 2 %d) after %s of set-up", len(clients),
		n1.App.Events.Subscribers(), n2.App.Events.Subscribers(), time.Since(setup).Round(time.Second))

	run := func(b *testing.B, event func() events.Event, receivers []*latencyClient) {
		for _, c := range receivers {
			c.reset()
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			e := event()
			e.Data = map[string]int64{"seq": int64(i), "sent": time.Now().UnixNano()}
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
		run(b, func() events.Event { return events.Event{TenantID: tn.ID, Name: "queue_counts", TenantWide: true} }, clients)
	})
	b.Run("item", func(b *testing.B) {
		// The tenant admin streams on node 1, the owner on node 2: each node checks rbac for every
		// one of its ~500 streams, and those two receive.
		run(b, func() events.Event {
			return events.Event{TenantID: tn.ID, Name: "queue_item", UserID: users[0].ID, WorkspaceID: ws.ID}
		}, []*latencyClient{clients[0], clients[1]})
	})
}

// latencyClient is one stream on a raw connection, read by one goroutine that records each
// event's latency from its "sent" stamp.
type latencyClient struct {
	mu  sync.Mutex
	lat []time.Duration
	got chan int64
}

func openLatencyClient(b *testing.B, node *apptest.Env, token string) *latencyClient {
	b.Helper()
	r := node.Do(http.MethodPost, "/api/v1/events/ticket", token, nil)
	if r.Status != http.StatusCreated {
		b.Fatalf("ticket: %d %s", r.Status, r.Body)
	}
	var tk events.Ticket
	r.JSON(b, &tk)
	conn, rd := dialStream(b, strings.TrimPrefix(node.URL(), "http://"), tk.Ticket)
	b.Cleanup(func() { _ = conn.Close() })
	c := &latencyClient{got: make(chan int64, 1<<16)}
	go func() {
		for {
			line, err := rd.ReadSlice('\n')
			if err != nil {
				return
			}
			now := time.Now()
			if !bytes.HasPrefix(line, []byte("data: {\"sent\":")) {
				continue
			}
			var d struct{ Seq, Sent int64 }
			if json.Unmarshal(line[len("data: "):], &d) != nil {
				continue
			}
			c.mu.Lock()
			c.lat = append(c.lat, now.Sub(time.Unix(0, d.Sent)))
			c.mu.Unlock()
			c.got <- d.Seq
		}
	}()
	return c
}

func (c *latencyClient) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lat = nil
}

// waitFor waits until the client received event seq (failing after a generous bound).
func (c *latencyClient) waitFor(b *testing.B, seq int64) {
	deadline := time.After(10 * time.Second)
	for {
		select {
		case got := <-c.got:
			if got >= seq {
				return
			}
		case <-deadline:
			b.Fatalf("event %d not delivered within 10 s", seq)
		}
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
	warm, _ := dialStream(b, addr, tickets[0])
	defer warm.Close()
	before := memNow()
	conns := make([]net.Conn, 0, n-1)
	for _, tk := range tickets[1:] {
		c, _ := dialStream(b, addr, tk)
		conns = append(conns, c)
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
func dialStream(b *testing.B, addr, ticket string) (net.Conn, *bufio.Reader) {
	b.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(c, "GET /api/v1/events?ticket=%s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", url.QueryEscape(ticket), addr)
	r := bufio.NewReaderSize(c, 1024)
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
	return c, r
}
