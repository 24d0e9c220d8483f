package app_test

// Benchmarks of the queue (issue 10, "Done when"):
//
//	go test -run '^$' -bench 'BenchmarkQueue' -benchtime 2000x ./app/
//
// BenchmarkQueue_list10k: a workspace queue of 10,000 items of five owners; a viewer (field
// values hidden) pages through it, 50 a page, at random cursors. It reports p50 / p99 of whole
// HTTP requests served in process and, for the ratio, of the bare listing statement (the same
// SELECT with the owner join, in a tenant transaction).
//
// BenchmarkQueue_enqueueToCompleted: an idle system (one API node, one worker polling every
// WORKER_POLL_INTERVAL's default); each iteration enqueues a one-node workflow (input → output of
// a 64×64 image) and waits for its completed event on the owner's stream. It reports p50 / p99
// of that latency and of the node's own work measured alone (graph.Execute, PNG encoding).

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/datatypes"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/configs"
	"github.com/atelier-hq/atelier/jobs"
	"github.com/atelier-hq/atelier/modules/events"
	"github.com/atelier-hq/atelier/modules/images"
	"github.com/atelier-hq/atelier/modules/queue"
	"github.com/atelier-hq/atelier/modules/workflows/graph"
	"github.com/atelier-hq/atelier/tenancy"
)

func percentiles(d []time.Duration) (p50, p99 float64) {
	slices.Sort(d)
	at := func(q float64) float64 {
		return float64(d[min(len(d)-1, int(q*float64(len(d))))].Microseconds()) / 1000
	}
	return at(0.50), at(0.99)
}

func BenchmarkQueue_list10k(b *testing.B) {
	env := apptest.Start(b)
	tn := env.SignUp(b)
	var ws struct{ ID uuid.UUID }
	ctx := tenancy.WithTenant(context.Background(), tn.ID)
	if err := env.App.DB.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT id FROM workspaces WHERE path = 'default'`).Scan(&ws).Error
	}); err != nil {
		b.Fatal(err)
	}
	wsID := ws.ID
	var owners []uuid.UUID
	for i := 0; i < 5; i++ {
		owners = append(owners, env.NewUser(b, tn, "editor").ID)
	}
	viewer := env.NewUser(b, tn, "viewer")
	const n = 10_000
	items := make([]queue.Item, 0, n)
	statuses := []string{queue.StatusCompleted, queue.StatusCompleted, queue.StatusFailed, queue.StatusPending, queue.StatusCanceled}
	ids := make([]uuid.UUID, 0, n)
	for i := 0; i < n; i++ {
		id, _ := uuid.NewV7()
		ids = append(ids, id)
		items = append(items, queue.Item{ID: id, WorkspaceID: wsID, OwnerID: owners[i%len(owners)], WorkflowID: uuid.New(),
			WorkflowName: fmt.Sprintf("workflow %d", i%37), Graph: wfGraph,
			FieldValues: datatypes.JSON(fmt.Sprintf(`{"in.image_id":%q}`, uuid.New())), BoardID: uuid.New(),
			Status: statuses[i%len(statuses)], Progress: 1, ResultImageIDs: datatypes.JSON(fmt.Sprintf(`[%q]`, uuid.New())),
			CreatedAt: time.Now(), UpdatedAt: time.Now()})
	}
	if err := env.App.DB.Tx(ctx, func(tx *gorm.DB) error { return tx.CreateInBatches(items, 1000).Error }); err != nil {
		b.Fatal(err)
	}
	if err := env.App.DB.Tx(ctx, func(tx *gorm.DB) error { return tx.Exec(`ANALYZE queue_items`).Error }); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	cursor := func() (string, uuid.UUID) {
		after := ids[rng.IntN(n-50)]
		return web64(after), after
	}
	base := "/api/v1/workspaces/" + wsID.String() + "/queue?limit=50"
	if r := env.Do(http.MethodGet, base, viewer.Token, nil); r.Status != http.StatusOK {
		b.Fatalf("list: %d %s", r.Status, r.Body)
	}
	req, bare := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, after := cursor()
		start := time.Now()
		r := env.Do(http.MethodGet, base+"&cursor="+url.QueryEscape(c), viewer.Token, nil)
		req = append(req, time.Since(start))
		if r.Status != http.StatusOK {
			b.Fatalf("list: %d %s", r.Status, r.Body)
		}
		start = time.Now()
		var rows []map[string]any
		err := env.App.DB.ReadTx(ctx, func(tx *gorm.DB) error {
			return tx.Raw(`SELECT queue_items.*, users.display_name AS owner_display_name, users.email AS owner_email
				FROM queue_items LEFT JOIN users ON users.tenant_id = queue_items.tenant_id AND users.id = queue_items.owner_id
				WHERE queue_items.tenant_id = ? AND queue_items.workspace_id = ? AND queue_items.id > ?
				ORDER BY queue_items.id LIMIT 51`, tn.ID, wsID, after).Scan(&rows).Error
		})
		bare = append(bare, time.Since(start))
		if err != nil || len(rows) != 51 {
			b.Fatalf("bare: %d rows, %v", len(rows), err)
		}
	}
	b.StopTimer()
	p50, p99 := percentiles(req)
	b50, b99 := percentiles(bare)
	b.ReportMetric(p50, "req-p50-ms")
	b.ReportMetric(p99, "req-p99-ms")
	b.ReportMetric(b50, "sql-p50-ms")
	b.ReportMetric(b99, "sql-p99-ms")
}

func web64(id uuid.UUID) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

func idOfTB(tb testing.TB, r apptest.Response) uuid.UUID {
	tb.Helper()
	var v struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(tb, &v)
	return v.ID
}

func BenchmarkQueue_enqueueToCompleted(b *testing.B) {
	const oneNode = `{"nodes":[{"id":"in","type":"image_input"},{"id":"out","type":"output"}],` +
		`"edges":[{"from":"in.image","to":"out.image"}],"exposed":["in.image_id"]}`
	cfg := apptest.Config(b)
	// QUEUE_BENCH_LOG names a file for the worker's info log ("queue item completed" with the
	// time spent on checks, the run and saving).
	logOut := io.Discard
	if path := os.Getenv("QUEUE_BENCH_LOG"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		logOut = f
	}
	env := apptest.StartWithLog(b, cfg, slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo})))
	qname := "qbench-" + uuid.NewString()[:12]
	env.App.Queue.SetTaskQueue(qname)
	jw := jobs.NewWorker(env.App.Broker, jobs.WorkerConfig{Concurrency: 2, Queues: map[string]int{qname: 1},
		PollInterval: configs.Defaults().WorkerPollInterval}, env.App.Log)
	env.App.RegisterTasks(jw)
	if err := jw.Start(); err != nil {
		b.Fatal(err)
	}
	defer jw.Shutdown()
	tn := env.SignUp(b)
	tok := tn.Admin.Token
	r := env.Do(http.MethodPost, "/api/v1/workspaces/default/boards", tok, map[string]any{"name": "bench"})
	if r.Status != http.StatusCreated {
		b.Fatalf("board: %d %s", r.Status, r.Body)
	}
	board := idOfTB(b, r)
	png64 := bdPNG(64, 64)
	r = env.Do(http.MethodPost, "/api/v1/workspaces/default/images", tok, bdForm(&board, "in.png", png64))
	if r.Status != http.StatusCreated {
		b.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	img := idOfTB(b, r)
	r = env.Do(http.MethodPost, "/api/v1/workspaces/default/workflows", tok, map[string]any{"name": "one node", "graph": rawJSON(oneNode)})
	if r.Status != http.StatusCreated {
		b.Fatalf("workflow: %d %s", r.Status, r.Body)
	}
	wf := idOfTB(b, r)
	r = env.Do(http.MethodPost, "/api/v1/events/ticket", tok, nil)
	var tk events.Ticket
	r.JSON(b, &tk)
	s := apptest.OpenSSE(b, env.URL(), "/api/v1/events?ticket="+url.QueryEscape(tk.Ticket), nil)
	if ev := s.Next(b); ev.Name != "ready" {
		b.Fatalf("first event %+v", ev)
	}
	body := map[string]any{"workflow_id": wf, "board_id": board, "field_values": map[string]any{"in.image_id": img}}
	var started []time.Duration
	wait := func(id uuid.UUID, posted time.Time) {
		seen := false
		for {
			ev := s.NextNamed(b, "queue_item")
			var d itemEvent
			if err := json.Unmarshal([]byte(ev.Data), &d); err != nil {
				b.Fatal(err)
			}
			if d.ItemID == id && d.Status == queue.StatusRunning && !seen {
				seen = true
				started = append(started, time.Since(posted))
			}
			if d.ItemID == id && d.Status == queue.StatusCompleted {
				return
			}
			if d.ItemID == id && d.Status == queue.StatusFailed {
				b.Fatalf("failed: %s", ev.Data)
			}
		}
	}
	g, err := graph.Parse([]byte(oneNode))
	if err != nil {
		b.Fatal(err)
	}
	lat, node, post := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		r := env.Do(http.MethodPost, "/api/v1/workspaces/default/queue", tok, body)
		posted := time.Now()
		post = append(post, posted.Sub(start))
		if r.Status != http.StatusCreated {
			b.Fatalf("enqueue: %d %s", r.Status, r.Body)
		}
		wait(idOfTB(b, r), posted)
		lat = append(lat, time.Since(start))
		// The node's own work, alone: decode the input, run the graph, encode the result and its
		// thumbnail.
		start = time.Now()
		outs, err := graph.Execute(context.Background(), g, map[string]json.RawMessage{"in.image_id": json.RawMessage(`"` + img.String() + `"`)},
			func(context.Context, uuid.UUID) (image.Image, error) {
				_, m, err := images.Inspect(png64, images.DefaultLimits)
				return m, err
			}, graph.Limits{}, nil)
		if err != nil || len(outs) != 1 {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, outs[0].Image); err != nil {
			b.Fatal(err)
		}
		if _, _, err := images.Thumbnail(outs[0].Image, "png"); err != nil {
			b.Fatal(err)
		}
		node = append(node, time.Since(start))
	}
	b.StopTimer()
	p50, p99 := percentiles(lat)
	n50, n99 := percentiles(node)
	e50, _ := percentiles(post)
	b.ReportMetric(e50, "post-p50-ms")
	s50, _ := percentiles(started)
	b.ReportMetric(s50, "to-running-p50-ms")
	b.ReportMetric(p50, "e2e-p50-ms")
	b.ReportMetric(p99, "e2e-p99-ms")
	b.ReportMetric(n50, "node-p50-ms")
	b.ReportMetric(n99, "node-p99-ms")
}
