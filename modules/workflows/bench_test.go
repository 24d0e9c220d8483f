package workflows_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/workflows"
	"github.com/atelier-hq/atelier/modules/workspaces"
	"github.com/atelier-hq/atelier/tenancy"
)

// BenchmarkList_10kWorkflows: one workspace (the tenant's default) holding 10,000 workflows of
// 10 owners — every third shared, two tags each out of 20, names "workflow NNNNN <word>" — plus the
// three system workflows. The callers are a viewer of the workspace (reads the shared ones), one
// of the owners (their own ~1,000 and the shared ones) and the tenant admin (everything). Each
// sub-benchmark reports p50 / p99 of whole in-process HTTP requests (bearer check, workspace
// resolution, the decisions, the one listing statement, the page's tags) and of the service call
// alone. Target: p99 ≤ 5 ms.
//
//	go test -run '^$' -bench BenchmarkList_10kWorkflows -benchtime 400x ./modules/workflows/
func BenchmarkList_10kWorkflows(b *testing.B) {
	const total, owners = 10_000, 10
	env := apptest.Start(b)
	tn := env.SignUp(b)
	var wsID uuid.UUID
	viewer := env.NewUser(b, tn, "member")
	grant := func(u uuid.UUID, role string) {
		r := env.Do(http.MethodPost, "/api/v1/workspaces/default/grants", tn.Admin.Token,
			map[string]any{"subject_type": "user", "subject_id": u, "role": role})
		if r.Status != http.StatusCreated {
			b.Fatalf("grant: %d %s", r.Status, r.Body)
		}
	}
	grant(viewer.ID, "viewer")
	users := make([]apptest.User, owners)
	for i := range users {
		users[i] = env.NewUser(b, tn, "member")
		grant(users[i].ID, "editor")
	}
	ctx := tenancy.WithTenant(context.Background(), tn.ID)
	words := []string{"portrait", "landscape", "upscale", "sketch", "poster", "banner", "avatar", "icon"}
	err := env.App.DB.Tx(ctx, func(tx *gorm.DB) error {
		var ws workspaces.Workspace
		if err := tx.Where("path = ?", workspaces.DefaultSlug).Take(&ws).Error; err != nil {
			return err
		}
		wsID = ws.ID
		rows := make([]workflows.Workflow, 0, total)
		tags := make([]workflows.Tag, 0, 2*total)
		for i := 0; i < total; i++ {
			id, _ := uuid.NewV7()
			owner := users[i%owners].ID
			rows = append(rows, workflows.Workflow{ID: id, WorkspaceID: &wsID, OwnerID: &owner,
				Name: fmt.Sprintf("workflow %05d %s", i, words[i%len(words)]), Shared: i%3 == 0, Graph: smallGraph})
			tags = append(tags, workflows.Tag{WorkflowID: id, Tag: fmt.Sprintf("tag%02d", i%20)},
				workflows.Tag{WorkflowID: id, Tag: fmt.Sprintf("tag%02d", (i+7)%20)})
		}
		if err := tx.CreateInBatches(rows, 1000).Error; err != nil {
			return err
		}
		return tx.CreateInBatches(tags, 2000).Error
	})
	if err != nil {
		b.Fatal(err)
	}
	// Fresh statistics, as autovacuum would have them after a bulk load.
	sqlDB, err := env.App.DB.Raw().DB()
	if err != nil {
		b.Fatal(err)
	}
	for _, table := range []string{"workflows", "workflow_tags"} {
		if _, err := sqlDB.Exec("ANALYZE " + table); err != nil {
			b.Fatalf("analyze: %v", err)
		}
	}
	if plan := os.Getenv("WF_EXPLAIN"); plan != "" {
		_ = env.App.DB.Tx(ctx, func(tx *gorm.DB) error {
			for _, q := range []string{
				workflows.ListSQL(tx, viewer.ID, wsID, false, []uuid.UUID{wsID}, workflows.Filter{}),
				workflows.ListSQL(tx, users[3].ID, wsID, false, []uuid.UUID{wsID}, workflows.Filter{Category: "user"}),
			} {
				var lines []string
				if err := tx.Raw("EXPLAIN (ANALYZE, BUFFERS) " + q).Scan(&lines).Error; err != nil {
					return err
				}
				b.Logf("%s\n%s", q, strings.Join(lines, "\n"))
			}
			return nil
		})
	}
	principal := func(u uuid.UUID) context.Context {
		return tenancy.WithPrincipal(ctx, tenancy.Principal{TenantID: tn.ID, UserID: u, Kind: tenancy.CredentialSession})
	}
	cases := []struct {
		name  string
		user  apptest.User
		query string
		f     workflows.Filter
		want  int
	}{
		{"viewer/all", viewer, "", workflows.Filter{}, 50},
		{"viewer/shared", viewer, "?category=shared", workflows.Filter{Category: "shared"}, 50},
		{"viewer/tag", viewer, "?tag=tag07", workflows.Filter{Tag: "tag07"}, 50},
		{"viewer/search", viewer, "?q=sketch", workflows.Filter{Query: "sketch"}, 50},
		{"viewer/search-rare", viewer, "?q=09999", workflows.Filter{Query: "09999"}, 0},
		{"owner/user", users[3], "?category=user", workflows.Filter{Category: "user"}, 50},
		{"owner/all", users[3], "", workflows.Filter{}, 50},
		{"admin/all", tn.Admin, "", workflows.Filter{}, 50},
		{"viewer/default", viewer, "?category=default", workflows.Filter{Category: "default"}, 3},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			uctx := principal(c.user.ID)
			var httpD, svcD []time.Duration
			for b.Loop() {
				t0 := time.Now()
				r := env.Do(http.MethodGet, "/api/v1/workspaces/default/workflows"+c.query, c.user.Token, nil)
				httpD = append(httpD, time.Since(t0))
				if r.Status != http.StatusOK {
					b.Fatalf("%d %s", r.Status, r.Body)
				}
				t0 = time.Now()
				rows, err := env.App.Workflows.List(uctx, wsID.String(), c.f, uuid.Nil, 51)
				svcD = append(svcD, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				if n := min(len(rows), 50); n != c.want && !(c.want == 0 && n <= 1) {
					b.Fatalf("%d items, want %d", n, c.want)
				}
			}
			percentiles(b, "http-", httpD)
			percentiles(b, "svc-", svcD)
			b.ReportMetric(loadAvg(), "loadavg")
		})
	}
	b.Run("viewer/counts", func(b *testing.B) {
		uctx := principal(viewer.ID)
		var d []time.Duration
		for b.Loop() {
			t0 := time.Now()
			c, err := env.App.Workflows.Counts(uctx, wsID.String())
			d = append(d, time.Since(t0))
			if err != nil || c.Shared != 3334 || c.Default != 3 || c.User != 0 {
				b.Fatalf("counts %+v %v", c, err)
			}
		}
		percentiles(b, "svc-", d)
	})
}

// loadAvg is the one-minute load average: the cores are shared, and wall-clock percentiles
// include the time other processes take.
func loadAvg() float64 {
	var l float64
	if raw, err := os.ReadFile("/proc/loadavg"); err == nil {
		_, _ = fmt.Sscan(string(raw), &l)
	}
	return l
}

func percentiles(b *testing.B, prefix string, d []time.Duration) {
	b.Helper()
	if len(d) == 0 {
		return
	}
	d = slices.Clone(d)
	slices.Sort(d)
	at := func(p int) float64 { return float64(d[min(len(d)-1, len(d)*p/100)].Microseconds()) }
	b.ReportMetric(at(50), prefix+"p50-µs")
	b.ReportMetric(at(99), prefix+"p99-µs")
}
