package rbac_test

// Benchmarks of the decision point on generated data sets (benchdata_test.go): 1,000 tenants,
// 100,000 workspaces and 1,000,000 grants, and the same at 1/100 scale. Each reports p50 and p99
// of the individual calls besides the mean (ns/op). They need PostgreSQL; the first run of a
// scale generates its database (a few minutes at full scale), later runs reuse it.
//
//	go test -run '^$' -bench 'Authorize|Listing|Cold' -benchtime 20000x -timeout 60m ./rbac/
//
// -short skips the full scale. Without -bench none of this runs.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// benchEnv is an opened data set, kept for the life of the test binary (the benchmark functions
// run several times with growing b.N; the data and the warm enforcer are set up once).
type benchEnv struct {
	s     benchScale
	l     *benchLayout
	db    *tenancy.DB
	perms map[string]map[rbac.Action]bool

	warmOnce sync.Once
	warm     *rbac.Enforcer // every tenant loaded
	warmHeap uint64         // live heap the loaded policies hold
	warmLoad time.Duration

	memOnce      sync.Once
	memPerTenant float64

	explainOnce sync.Once
}

var (
	benchEnvMu sync.Mutex
	benchEnvs  = map[string]*benchEnv{}
)

func benchSetup(b *testing.B, s benchScale) *benchEnv {
	b.Helper()
	if testing.Short() && s.Tenants > benchSmall.Tenants {
		b.Skip("-short: the full-scale data set is skipped")
	}
	benchEnvMu.Lock()
	defer benchEnvMu.Unlock()
	if env, ok := benchEnvs[s.DB]; ok {
		return env
	}
	dsn := ensureBenchData(b, s)
	db, err := tenancy.Open(tenancy.Options{DatabaseURL: dsn, MaxOpenConns: 8})
	if err != nil {
		b.Fatalf("open %s: %v", s.DB, err)
	}
	env := &benchEnv{s: s, l: s.perTenant(), db: db, perms: benchPerms()}
	benchEnvs[s.DB] = env
	return env
}

func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// warmEnforcer loads every tenant's policy once and measures the heap they hold.
func (env *benchEnv) warmEnforcer(b *testing.B) *rbac.Enforcer {
	b.Helper()
	env.warmOnce.Do(func() {
		e, err := rbac.NewEnforcer(env.db, nil, quiet)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		before := liveHeap()
		start := time.Now()
		for t := 1; t <= env.s.Tenants; t++ {
			if _, err := e.Allowed(ctx, benchTenantID(t), benchUserID(t, 0), rbac.Root, rbac.TenantRead); err != nil {
				b.Fatalf("load tenant %d: %v", t, err)
			}
			if t%200 == 0 {
				benchProgress("%s: warmed %d tenants in %.1fs", env.s.DB, t, time.Since(start).Seconds())
			}
		}
		env.warmLoad = time.Since(start)
		after := liveHeap()
		env.warmHeap = after - min(after, before)
		env.warm = e
		benchProgress("%s: %d tenants loaded in %s, live heap +%.1f MB (%.0f KB per tenant)", env.s.DB, e.Loaded(),
			env.warmLoad.Round(time.Millisecond), float64(env.warmHeap)/(1<<20), float64(env.warmHeap)/float64(env.s.Tenants)/1024)
	})
	if env.warm == nil {
		b.Fatal("warm enforcer failed to load")
	}
	return env.warm
}

// benchQuery is one decision to ask, with the answer the template says it must get.
type benchQuery struct {
	tenant, user uuid.UUID
	node         string
	act          rbac.Action
	want         bool
}

// query draws a decision: a random tenant (1…tenants), a user who holds grants there, a node at
// depth 5 or 6, an action. Half the nodes are drawn below one of the user's grants (mostly
// allowed), half anywhere deep in the tree (mostly denied: the whole walk, no early match).
func (env *benchEnv) query(r *rand.Rand, t int) benchQuery {
	l := env.l
	u := r.IntN(l.Users)
	j := l.Deep[r.IntN(len(l.Deep))]
	if r.IntN(2) == 0 {
		if g := l.Grants[l.ByUser[u][r.IntN(len(l.ByUser[u]))]]; g.WS >= 0 {
			j = g.WS
			for len(l.Children[j]) > 0 {
				j = l.Children[j][r.IntN(len(l.Children[j]))]
			}
		}
	}
	act := rbac.AllActions[r.IntN(len(rbac.AllActions))]
	return benchQuery{tenant: benchTenantID(t), user: benchUserID(t, u), node: benchWorkspaceNode(t, j), act: act,
		want: l.expect(u, j, act, env.perms)}
}

// threadCPU is the CPU time of the calling OS thread. With the goroutine locked to its thread it
// measures a call's own CPU, without the time the machine's other processes take from it (the
// wall-clock percentiles include that: see the loadavg metric).
func threadCPU() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

// loadAvg is the 1-minute load average of the machine.
func loadAvg() float64 {
	var l float64
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		_, _ = fmt.Sscan(string(b), &l)
	}
	return l
}

// reportPercentiles reports p50 and p99 of the calls.
func reportPercentiles(b *testing.B, prefix string, d []time.Duration) {
	b.Helper()
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	at := func(p int) float64 { return float64(d[min(len(d)-1, len(d)*p/100)].Nanoseconds()) }
	b.ReportMetric(at(50), prefix+"p50-ns")
	b.ReportMetric(at(99), prefix+"p99-ns")
}

func BenchmarkAuthorize_warm_10kGrants(b *testing.B) { benchmarkWarm(b, benchSmall) }
func BenchmarkAuthorize_warm_1MGrants(b *testing.B)  { benchmarkWarm(b, benchFull) }

// benchmarkWarm: decisions on tenants whose policy is loaded (all of them), one at a time.
func benchmarkWarm(b *testing.B, s benchScale) {
	env := benchSetup(b, s)
	e := env.warmEnforcer(b)
	r := rand.New(rand.NewPCG(uint64(b.N), 1))
	qs := make([]benchQuery, b.N)
	for i := range qs {
		qs[i] = env.query(r, 1+r.IntN(s.Tenants))
	}
	durs, cpus := make([]time.Duration, b.N), make([]time.Duration, b.N)
	ctx := context.Background()
	allowed, wrong := 0, 0
	heapBefore := liveHeap()
	load := loadAvg()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range qs {
		q := &qs[i]
		c0, t0 := threadCPU(), time.Now()
		ok, err := e.Allowed(ctx, q.tenant, q.user, q.node, q.act)
		durs[i], cpus[i] = time.Since(t0), threadCPU()-c0
		if err != nil {
			b.Fatal(err)
		}
		if ok {
			allowed++
		}
		if ok != q.want {
			wrong++
		}
	}
	b.StopTimer()
	if wrong > 0 {
		b.Fatalf("%d of %d decisions differ from the data set's reference answer", wrong, b.N)
	}
	reportPercentiles(b, "", durs)
	reportPercentiles(b, "cpu-", cpus)
	heapAfter := liveHeap()
	b.ReportMetric(float64(heapAfter-min(heapAfter, heapBefore))/float64(b.N), "retained-B/op")
	b.ReportMetric(max(load, loadAvg()), "loadavg")
	b.ReportMetric(100*float64(allowed)/float64(b.N), "allowed-%")
	b.ReportMetric(float64(e.Loaded()), "tenants-loaded")
	b.ReportMetric(float64(env.warmHeap)/float64(s.Tenants)/1024, "policy-KB/tenant")
}

func BenchmarkAuthorize_warmParallel_10kGrants(b *testing.B) { benchmarkWarmParallel(b, benchSmall) }
func BenchmarkAuthorize_warmParallel_1MGrants(b *testing.B)  { benchmarkWarmParallel(b, benchFull) }

// benchmarkWarmParallel: the same decisions from GOMAXPROCS goroutines at once (the enforcer's
// and casbin's locks under contention).
func benchmarkWarmParallel(b *testing.B, s benchScale) {
	env := benchSetup(b, s)
	e := env.warmEnforcer(b)
	var (
		mu     sync.Mutex
		all    []time.Duration
		seed   uint64
		failed error
	)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		seed++
		r := rand.New(rand.NewPCG(seed, uint64(b.N)))
		mu.Unlock()
		var durs []time.Duration
		for pb.Next() {
			q := env.query(r, 1+r.IntN(s.Tenants))
			t0 := time.Now()
			ok, err := e.Allowed(ctx, q.tenant, q.user, q.node, q.act)
			durs = append(durs, time.Since(t0))
			if err == nil && ok != q.want {
				err = fmt.Errorf("decision differs from the reference: %+v", q)
			}
			if err != nil {
				mu.Lock()
				failed = err
				mu.Unlock()
			}
		}
		mu.Lock()
		all = append(all, durs...)
		mu.Unlock()
	})
	b.StopTimer()
	if failed != nil {
		b.Fatal(failed)
	}
	reportPercentiles(b, "", all)
	b.ReportMetric(loadAvg(), "loadavg")
}

// BenchmarkAuthorize_cold: the first decision for a tenant whose policy is not loaded (Forget,
// then Allowed): the load through the gorm adapter in a tenant transaction, the role links, the
// decision. Tenants are taken in turn, so each is loaded again only after all others.
func BenchmarkAuthorize_cold(b *testing.B) {
	for _, s := range []benchScale{benchSmall, benchFull} {
		b.Run(s.Name, func(b *testing.B) { benchmarkCold(b, s) })
	}
}

func benchmarkCold(b *testing.B, s benchScale) {
	env := benchSetup(b, s)
	e, err := rbac.NewEnforcer(env.db, nil, quiet)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(uint64(b.N), 2))
	order := r.Perm(s.Tenants)
	qs := make([]benchQuery, b.N)
	for i := range qs {
		qs[i] = env.query(r, 1+order[i%s.Tenants])
	}
	durs, cpus := make([]time.Duration, b.N), make([]time.Duration, b.N)
	ctx := context.Background()
	load := loadAvg()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range qs {
		q := &qs[i]
		e.Forget(q.tenant)
		c0, t0 := threadCPU(), time.Now()
		ok, err := e.Allowed(ctx, q.tenant, q.user, q.node, q.act)
		durs[i], cpus[i] = time.Since(t0), threadCPU()-c0
		if err != nil {
			b.Fatal(err)
		}
		if ok != q.want {
			b.Fatalf("decision differs from the reference: %+v", q)
		}
	}
	b.StopTimer()
	reportPercentiles(b, "", durs)
	reportPercentiles(b, "cpu-", cpus)
	b.ReportMetric(max(load, loadAvg()), "loadavg")

	// The heap one tenant's policy holds: load K tenants into a fresh enforcer, after a GC.
	env.memOnce.Do(func() {
		k := min(s.Tenants, 100)
		before := liveHeap()
		m, err := rbac.NewEnforcer(env.db, nil, quiet)
		if err != nil {
			b.Fatal(err)
		}
		for t := 1; t <= k; t++ {
			if _, err := m.Allowed(ctx, benchTenantID(t), benchUserID(t, 0), rbac.Root, rbac.TenantRead); err != nil {
				b.Fatal(err)
			}
		}
		after := liveHeap()
		runtime.KeepAlive(m)
		env.memPerTenant = float64(after-min(after, before)) / float64(k)
	})
	b.ReportMetric(env.memPerTenant/1024, "policy-KB/tenant")
	b.ReportMetric(env.memPerTenant*1000/(1<<20), "policy-MB/1000tenants")
}

// The listing query of the workspaces module: the first page of the workspaces in the subtrees
// the scope names.
const (
	benchListingSQL = `SELECT w.id, w.parent_id, w.slug, w.name, w.path FROM workspaces w
WHERE w.tenant_id = ? AND EXISTS (SELECT 1 FROM workspaces g WHERE g.tenant_id = w.tenant_id AND g.id IN (?)
  AND (w.path = g.path OR w.path LIKE g.path || '/%')) ORDER BY w.id LIMIT 50`
	benchListingAllSQL = `SELECT w.id, w.parent_id, w.slug, w.name, w.path FROM workspaces w
WHERE w.tenant_id = ? ORDER BY w.id LIMIT 50`
)

type benchWorkspace struct {
	ID       uuid.UUID
	ParentID *uuid.UUID
	Slug     string
	Name     string
	Path     string
}

// benchList runs the listing for the scope in a tenant transaction.
func benchList(ctx context.Context, db *tenancy.DB, tenantID uuid.UUID, scope rbac.Scope) ([]benchWorkspace, error) {
	if !scope.All && len(scope.Nodes) == 0 {
		return nil, nil
	}
	var out []benchWorkspace
	err := db.Tx(tenancy.WithTenant(ctx, tenantID), func(tx *gorm.DB) error {
		if scope.All {
			return tx.Raw(benchListingAllSQL, tenantID).Scan(&out).Error
		}
		return tx.Raw(benchListingSQL, tenantID, scope.Nodes).Scan(&out).Error
	})
	return out, err
}

// BenchmarkListing_readableWorkspaces: the workspaces a user can see, as the workspaces module
// lists them: Enforcer.Readable (warm), then the query inside tenancy.DB.Tx. It logs the plan.
func BenchmarkListing_readableWorkspaces(b *testing.B) {
	for _, s := range []benchScale{benchSmall, benchFull} {
		b.Run(s.Name, func(b *testing.B) { benchmarkListing(b, s) })
	}
}

func benchmarkListing(b *testing.B, s benchScale) {
	env := benchSetup(b, s)
	e := env.warmEnforcer(b)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(uint64(b.N), 3))
	type ask struct {
		tenant, user uuid.UUID
		u            int
	}
	asks := make([]ask, b.N)
	for i := range asks {
		t, u := 1+r.IntN(s.Tenants), r.IntN(env.l.Users)
		asks[i] = ask{benchTenantID(t), benchUserID(t, u), u}
	}
	durs := make([]time.Duration, b.N)
	readable := make([]time.Duration, b.N)
	var nodes, rows, all int
	load := loadAvg()
	b.ResetTimer()
	for i, a := range asks {
		t0 := time.Now()
		scope, err := e.Readable(ctx, a.tenant, a.user, rbac.WorkspaceRead)
		t1 := time.Now()
		if err != nil {
			b.Fatal(err)
		}
		list, err := benchList(ctx, env.db, a.tenant, scope)
		durs[i], readable[i] = time.Since(t0), t1.Sub(t0)
		if err != nil {
			b.Fatal(err)
		}
		if scope.All {
			all++
		}
		nodes += len(scope.Nodes)
		rows += len(list)
		if !scope.All && a.u >= 3 && len(scope.Nodes) == 0 {
			b.Fatalf("user %d holds workspace grants but Readable found none", a.u)
		}
	}
	b.StopTimer()
	reportPercentiles(b, "", durs)
	reportPercentiles(b, "readable-", readable)
	b.ReportMetric(max(load, loadAvg()), "loadavg")
	b.ReportMetric(float64(nodes)/float64(b.N), "scope-nodes/op")
	b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
	b.ReportMetric(100*float64(all)/float64(b.N), "all-%")
	env.explainOnce.Do(func() { benchExplain(b, env, e) })
}

// benchExplain logs EXPLAIN (ANALYZE, BUFFERS) of the listing for the user with the largest scope
// in tenant 1, and fails if the plan reads a workspaces table sequentially.
func benchExplain(b *testing.B, env *benchEnv, e *rbac.Enforcer) {
	ctx := context.Background()
	tenantID := benchTenantID(1)
	var scope rbac.Scope
	for u := 3; u < env.l.Users; u++ {
		sc, err := e.Readable(ctx, tenantID, benchUserID(1, u), rbac.WorkspaceRead)
		if err != nil {
			b.Fatal(err)
		}
		if !sc.All && len(sc.Nodes) > len(scope.Nodes) {
			scope = sc
		}
	}
	var plan []string
	err := env.db.Tx(tenancy.WithTenant(ctx, tenantID), func(tx *gorm.DB) error {
		rows, err := tx.Raw("EXPLAIN (ANALYZE, BUFFERS) "+benchListingSQL, tenantID, scope.Nodes).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return err
			}
			plan = append(plan, line)
		}
		return rows.Err()
	})
	if err != nil {
		b.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	b.Logf("%s: listing plan for a scope of %d subtrees:\n%s", env.s.DB, len(scope.Nodes), text)
	if strings.Contains(text, "Seq Scan on workspaces") {
		b.Errorf("the listing reads workspaces sequentially")
	}
}
