package events

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// The hub alone, without HTTP: 1,000 streams of distinct users of one tenant, half on each of
// two hubs (two nodes) on the test Redis, each read by its own goroutine as Serve would; events
// published on hub 1 one at a time. Reports publish-to-delivery p50/p99 over every delivery.
//
//	go test -run '^$' -bench BenchmarkHub -benchtime 500x ./modules/events/
func BenchmarkHub_publishToDelivery_1000Streams2Nodes(b *testing.B) {
	const streams = 1000
	n1, n2 := newNode(b, Config{}), newNode(b, Config{})
	tn, ws := uuid.New(), uuid.New()
	type reader struct {
		mu  sync.Mutex
		lat []time.Duration
		got chan int64
	}
	readers := make([]*reader, streams)
	owner, admin := session(tn), session(tn)
	for _, n := range []*node{n1, n2} {
		n.authz.grant(admin.UserID, ws, rbac.BoardAdmin)
	}
	for i := range readers {
		p := session(tn)
		switch i {
		case 0:
			p = admin
		case 1:
			p = owner
		}
		n := n1
		if i%2 == 1 {
			n = n2
		}
		st := n.open(b, n1, p)
		r := &reader{got: make(chan int64, 1<<16)}
		readers[i] = r
		go func() {
			for {
				select {
				case f := <-st.sub.ch:
					now := time.Now()
					var d struct{ Seq, Sent int64 }
					_ = json.Unmarshal(eventDataBytes(f), &d)
					r.mu.Lock()
					r.lat = append(r.lat, now.Sub(time.Unix(0, d.Sent)))
					r.mu.Unlock()
					r.got <- d.Seq
				case <-st.sub.done:
					return
				}
			}
		}()
	}
	run := func(b *testing.B, e Event, receivers []*reader) {
		for _, r := range receivers {
			r.mu.Lock()
			r.lat = nil
			r.mu.Unlock()
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			e.Data = map[string]int64{"seq": int64(i), "sent": time.Now().UnixNano()}
			if err := n1.Publish(context.Background(), e); err != nil {
				b.Fatal(err)
			}
			for _, r := range receivers {
				deadline := time.After(10 * time.Second)
			wait:
				for {
					select {
					case got := <-r.got:
						if got >= int64(i) {
							break wait
						}
					case <-deadline:
						b.Fatalf("event %d not delivered", i)
					}
				}
			}
		}
		b.StopTimer()
		var all []time.Duration
		for _, r := range receivers {
			r.mu.Lock()
			all = append(all, r.lat...)
			r.mu.Unlock()
		}
		slices.Sort(all)
		p := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))].Microseconds()) / 1000 }
		b.ReportMetric(p(0.5), "p50-ms")
		b.ReportMetric(p(0.99), "p99-ms")
	}
	b.Run("tenant-wide", func(b *testing.B) {
		run(b, Event{TenantID: tn, Name: "queue_counts", TenantWide: true}, readers)
	})
	b.Run("item", func(b *testing.B) {
		run(b, Event{TenantID: tn, Name: "queue_item", UserID: owner.UserID, WorkspaceID: ws}, readers[:2])
	})
}

func eventDataBytes(f *frame) []byte {
	_, data, _ := bytes.Cut(f.wire, []byte("data: "))
	return data
}

// BenchmarkHub_idleStreamMemory is the hub's own share of an idle stream (its subscriber, the
// bounded channel and the registration), without the HTTP connection.
func BenchmarkHub_idleStreamMemory(b *testing.B) {
	n := newNode(b, Config{})
	tn := uuid.New()
	const count = 5000
	tickets := make([]string, count)
	for i := range tickets {
		tk, err := n.IssueTicket(tenancy.WithPrincipal(context.Background(), session(tn)))
		if err != nil {
			b.Fatal(err)
		}
		tickets[i] = tk.Ticket
	}
	streams := make([]*Stream, 0, count)
	var m0, m1 runtimeMem
	m0.read()
	for _, tk := range tickets {
		st, err := n.Open(context.Background(), tk, 0, false)
		if err != nil {
			b.Fatal(err)
		}
		streams = append(streams, st)
	}
	m1.read()
	b.ReportMetric((float64(m1.live)-float64(m0.live))/count/1024, "live-KiB/stream")
	for _, st := range streams {
		st.Close()
	}
}
