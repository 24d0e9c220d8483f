package rbac_test

// Benchmarks of the decision point on generated data sets (benchdata_test.go): 1,000 tenants,
// 100,000 workspaces and 1,000,000 grants ("1MGrants"), and the same tenants at 1/100 scale
// ("10kGrants": 10 tenants; every tenant of both scales holds the same 100 workspaces and 1,000
// grants, so the ratio full/small shows what the number of tenants costs). Each benchmark runs
// once per scale, as a sub-benchmark named after it, and reports p50 and p99 of the individual
// calls besides the mean (ns/op), the CPU time of the calls where it can, and the machine's load
// average. They need PostgreSQL; the first run of a scale generates its database (about 2 s at
// small scale and 1.5 min at full scale on the 2-core CI machine), later runs reuse it. Loading
// every tenant for the warm benchmarks takes another 25–60 s at full scale.
//
//	go test -run '^$' -bench '/10kGrants' -benchtime 2000x -timeout 30m ./rbac/   # small scale
//	go test -run '^$' -bench '/1MGrants' -benchtime 2000x -timeout 60m ./rbac/    # full scale
//
// (-benchtime 20000x gives steadier p99s for the warm ones; -v logs the listing's query plan in
// full.) -short skips the full scale. Without -bench none of this runs and no database is
// created: the data sets exist only on machines where someone ran the benchmarks. They stay
// there to be reused (atelier_bench_small ≈ 20 MB, atelier_bench_full ≈ 1.1 GB); to remove them:
//
//	psql "$TEST_DATABASE_URL" -c 'DROP DATABASE IF EXISTS atelier_bench_full' -c 'DROP DATABASE IF EXISTS atelier_bench_small'

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/workspaces"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// benchScales are the data sets every benchmark runs on, as sub-benchmarks.
var benchScales = []benchScale{benchSmall, benchFull}

// forEachScale runs fn as one sub-benchmark per scale.
func forEachScale(b *testing.B, fn func(b *testing.B, s benchScale)) {
	for _, s := range benchScales {
		b.Run(s.Name, func(b *testing.B) { fn(b, s) })
	}
}

// benchEnv is an opened data set, kept for the life of the test binary (the benchmark functions
// run several times with growing b.N; the data and the warm enforcer are set up once).
type benchEnv struct {
	s     benchScale
	l     *benchLayout
	db    *tenancy.DB
	perms map[string]map[rbac.Action]bool

	warmOnce sync.Once
	warm     *rbac.Enforcer // every tenant loaded
	warmBase uint64         // live heap before the loads
	warmHeap uint64         // live heap the loaded policies hold, right after loading
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
		env.warmBase, env.warmHeap = before, after-min(after, before)
		env.warm = e
		benchProgress("%s: %d tenants loaded in %s, live heap +%.1f MB (%.0f KB per tenant)", env.s.DB, e.Loaded(),
			env.warmLoad.Round(time.Millisecond), float64(env.warmHeap)/(1<<20), float64(env.warmHeap)/float64(env.s.Tenants)/1024)
	})
	if env.warm == nil {
		b.Fatal("warm enforcer failed to load")
	}
	return env.warm
}

// benchQuery is one decision to ask, with the answer the template says it must get. ctx carries
// the user as the authenticated principal, as the HTTP layer sets it.
type benchQuery struct {
	ctx  context.Context
	node string
	act  rbac.Action
	want bool
}

// query draws a decision: tenant t, a user who holds grants there, a node at depth 5 or 6, an
// action. Half the nodes are drawn below one of the user's grants (mostly allowed), half anywhere
// deep in the tree (mostly denied: the whole walk, no early match).
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
	return benchQuery{ctx: benchPrincipal(t, u), node: benchWorkspaceNode(t, j), act: act,
		want: l.expect(u, j, act, env.perms)}
}

// benchPrincipal is a context authenticated as user u of tenant t (a session, not a token).
func benchPrincipal(t, u int) context.Context {
	return tenancy.WithPrincipal(context.Background(), tenancy.Principal{
		TenantID: benchTenantID(t), UserID: benchUserID(t, u), Kind: tenancy.CredentialSession})
}

// authorize asks the decision point and turns its answer into allowed / denied.
func authorize(e *rbac.Enforcer, q *benchQuery) (bool, error) {
	err := e.Authorize(q.ctx, q.act, q.node)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, rbac.ErrDenied):
		return false, nil
	default:
		return false, err
	}
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

// BenchmarkAuthorizeWarm: decisions (Enforcer.Authorize, as the HTTP layer asks) on tenants whose
// policy is loaded — all of them — one at a time, on random tenants. Every answer is checked
// against the data set's reference.
func BenchmarkAuthorizeWarm(b *testing.B) { forEachScale(b, benchmarkWarm) }

func benchmarkWarm(b *testing.B, s benchScale) {
	env := benchSetup(b, s)
	e := env.warmEnforcer(b)
	heapBefore := liveHeap()
	r := rand.New(rand.NewPCG(uint64(b.N), 1))
	qs := make([]benchQuery, b.N)
	for i := range qs {
		qs[i] = env.query(r, 1+r.IntN(s.Tenants))
	}
	durs, cpus := make([]time.Duration, b.N), make([]time.Duration, b.N)
	allowed, wrong := 0, 0
	load := loadAvg()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range qs {
		q := &qs[i]
		c0, t0 := threadCPU(), time.Now()
		ok, err := authorize(e, q)
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
	b.ReportMetric(max(load, loadAvg()), "loadavg")
	b.ReportMetric(100*float64(allowed)/float64(b.N), "allowed-%")
	b.ReportMetric(float64(e.Loaded()), "tenants-loaded")
	// The policies' heap right after loading, and now: decisions make it grow (casbin memoises
	// every g() answer for as long as the tenant's policy stays loaded, and the default role
	// manager allocates the maps of the roles a walk first ranges over). retained-B/op is the
	// growth during this run.
	qs, durs, cpus = nil, nil, nil
	heapAfter := liveHeap()
	b.ReportMetric(float64(heapAfter-min(heapAfter, heapBefore))/float64(b.N), "retained-B/op")
	b.ReportMetric(float64(env.warmHeap)/float64(s.Tenants)/1024, "policy-KB/tenant")
	b.ReportMetric(float64(env.warmHeap)/float64(s.Grants), "policy-B/grant")
	b.ReportMetric(float64(env.warmHeap)/(1<<20), "policy-MB-total")
	b.ReportMetric(float64(heapAfter-min(heapAfter, env.warmBase))/(1<<20), "policy-MB-total-now")
}

// BenchmarkAuthorizeWarmParallel: the same decisions from GOMAXPROCS goroutines at once (the
// enforcer's and casbin's locks under contention). The decisions are drawn before the timer.
func BenchmarkAuthorizeWarmParallel(b *testing.B) { forEachScale(b, benchmarkWarmParallel) }

func benchmarkWarmParallel(b *testing.B, s benchScale) {
	env := benchSetup(b, s)
	e := env.warmEnforcer(b)
	r := rand.New(rand.NewPCG(uint64(b.N), 4))
	qs := make([]benchQuery, min(b.N, 1<<14))
	for i := range qs {
		qs[i] = env.query(r, 1+r.IntN(s.Tenants))
	}
	var (
		mu     sync.Mutex
		all    []time.Duration
		next   atomic.Int64
		failed error
	)
	load := loadAvg()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var durs []time.Duration
		for pb.Next() {
			q := &qs[int(next.Add(1)-1)%len(qs)]
			t0 := time.Now()
			ok, err := authorize(e, q)
			durs = append(durs, time.Since(t0))
			if err == nil && ok != q.want {
				err = fmt.Errorf("decision differs from the reference: %s %s", q.act, q.node)
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
	b.ReportMetric(max(load, loadAvg()), "loadavg")
}

// BenchmarkAuthorizeCold: the first decision for a tenant whose policy is not loaded (Forget,
// then Authorize): the load of the tenant's rows in a tenant transaction, the role links, the
// decision. Tenants are taken in turn, so each is loaded again only after all others. It also
// reports the heap one tenant's loaded policy holds (policy-KB/tenant) and that heap divided by
// the tenant's grants (policy-B/grant: everything a tenant holds — tree, roles, casbin's
// enforcer — counted against its 1,000 grants).
func BenchmarkAuthorizeCold(b *testing.B) { forEachScale(b, benchmarkCold) }

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
		p, _ := tenancy.PrincipalFrom(q.ctx)
		e.Forget(p.TenantID)
		c0, t0 := threadCPU(), time.Now()
		ok, err := authorize(e, q)
		durs[i], cpus[i] = time.Since(t0), threadCPU()-c0
		if err != nil {
			b.Fatal(err)
		}
		if ok != q.want {
			b.Fatalf("decision differs from the reference: %s %s", q.act, q.node)
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
	b.ReportMetric(env.memPerTenant/float64(s.Grants/s.Tenants), "policy-B/grant")
	b.ReportMetric(env.memPerTenant*float64(s.Tenants)/(1<<20), "policy-MB-all-tenants")
}

// benchListingSQL mirrors what workspaces.Service.List runs for the first page (store.visible
// and store.list), for EXPLAIN; the timed listing goes through the service itself.
const benchListingSQL = `SELECT * FROM workspaces
WHERE EXISTS (SELECT 1 FROM workspaces g WHERE g.tenant_id = workspaces.tenant_id AND g.id IN (?)
  AND (workspaces.path = g.path OR workspaces.path LIKE g.path || '/%')) AND workspaces.tenant_id = ?
ORDER BY id LIMIT 50`

// benchPage is the page size of the listing (the API's default).
const benchPage = 50

// BenchmarkListing: the workspaces a user can see, as GET /api/v1/workspaces lists them:
// workspaces.Service.List, i.e. Enforcer.Readable (warm) and the first page of the filtered
// query inside tenancy.DB.Tx. Every page is checked against the data set's reference; the
// Readable step alone is timed too (readable-p50/p99, a separate call). It logs the query plan.
func BenchmarkListing(b *testing.B) { forEachScale(b, benchmarkListing) }

func benchmarkListing(b *testing.B, s benchScale) {
	env := benchSetup(b, s)
	e := env.warmEnforcer(b)
	svc := workspaces.NewService(env.db, e, nil, quiet)
	r := rand.New(rand.NewPCG(uint64(b.N), 3))
	type ask struct {
		ctx  context.Context
		t, u int
		all  bool
		want []uuid.UUID
	}
	asks := make([]ask, b.N)
	for i := range asks {
		t, u := 1+r.IntN(s.Tenants), r.IntN(env.l.Users)
		all, nodes := env.l.readable(u, rbac.WorkspaceRead, env.perms)
		asks[i] = ask{ctx: benchPrincipal(t, u), t: t, u: u, all: all, want: env.l.firstPage(t, all, nodes, benchPage)}
	}
	durs := make([]time.Duration, b.N)
	readable := make([]time.Duration, b.N)
	lists := make([][]workspaces.View, b.N)
	scopes := make([]rbac.Scope, b.N)
	load := loadAvg()
	b.ResetTimer()
	for i := range asks {
		a := &asks[i]
		t0 := time.Now()
		list, err := svc.List(a.ctx, "", uuid.Nil, benchPage)
		durs[i] = time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		scope, err := e.Readable(a.ctx, benchTenantID(a.t), benchUserID(a.t, a.u), rbac.WorkspaceRead)
		readable[i] = time.Since(t1)
		if err != nil {
			b.Fatal(err)
		}
		lists[i], scopes[i] = list, scope
	}
	b.StopTimer()
	var nodes, rows, all int
	for i := range asks {
		a, scope, list := &asks[i], scopes[i], lists[i]
		if scope.All != a.all {
			b.Fatalf("tenant %d user %d: Readable says all=%v, the reference %v", a.t, a.u, scope.All, a.all)
		}
		got := make([]uuid.UUID, 0, len(list))
		for _, w := range list {
			got = append(got, w.ID)
		}
		if !slices.Equal(got, a.want) {
			b.Fatalf("tenant %d user %d: listed %d workspaces %v, the reference %d %v", a.t, a.u, len(got), got, len(a.want), a.want)
		}
		if scope.All {
			all++
		}
		nodes += len(scope.Nodes)
		rows += len(list)
	}
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
		rows, err := tx.Raw("EXPLAIN (ANALYZE, BUFFERS) "+benchListingSQL, scope.Nodes, tenantID).Rows()
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
