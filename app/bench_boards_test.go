package app_test

// Benchmarks of boards and images at scale (issue 4, "Measure"): one tenant with 1,000 users, a
// tree of seven workspaces, 100,000 boards (private / shared / public, owner plus up to three
// editors or viewers each, ~250,000 memberships) and 1,000,000 images (nine in ten on boards, ten
// boards holding 10,000 each; one in ten uncategorised).
//
//	go test -run '^$' -bench 'BenchmarkBoards' -benchtime 2000x -timeout 60m ./app/
//
// The data set lives in its own database (atelier_bench_boards), generated once with set-based
// SQL (INSERT … SELECT generate_series) and reused by later runs; bench_meta records a finished
// generation of this generator version and schema, so an interrupted or outdated one is redone
// (ATELIER_BENCH_REGEN=1 forces it). The tenant, its admin and its workspaces are made through
// the API first, so the built-in roles and the workspace tree's policy are the product's own.
// Sixteen real PNG files (with their rows made to match) are kept under ATELIER_BENCH_DATA_DIR
// (default $TMPDIR/atelier_bench_boards), for the file benchmark and for scripts/bench-images.sh,
// which reads the ATELIER_BENCH_ENV file BenchmarkBoards_imageFile writes.
//
// Each benchmark reports p50 / p99 of whole HTTP requests served in process (bearer token check,
// the liveness transaction, the workspace or board check, the listing), the p50 / p99 of the
// listing statement alone, the number of SQL statements one request runs, and the load average
// (the cores may be shared: wall-clock percentiles include the time other processes take).
// BenchmarkBoards_decision isolates the decision-point calls every board and image read makes.
// The statements of one request and the listing's EXPLAIN (ANALYZE, BUFFERS), run as
// atelier_app under row-level security, are written under ATELIER_BENCH_PLANS (default
// <data dir>/plans); a benchmark fails if the page differs from a reference query, if the
// listing is not exactly one statement, or if its plan reads boards or images sequentially.
// -short skips them; without -bench nothing here runs.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/valyala/fasthttp"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app"
	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/configs"
	"github.com/atelier-hq/atelier/migrations"
	"github.com/atelier-hq/atelier/modules/images"
	"github.com/atelier-hq/atelier/modules/users"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

const (
	bbDB      = "atelier_bench_boards"
	bbSlug    = "bench-boards"
	bbAdmin   = "admin@bench-boards.test"
	bbUsers   = 1_000
	bbBoards  = 100_000
	bbImages  = 1_000_000
	bbBig     = 10 // boards 0…9 hold 10,000 images each
	bbChunk   = 100_000
	bbVersion = 1 // bump whenever the generator writes something different
	bbLock    = 7305104
)

// bbWorkspace is one workspace of the tree: its share of the boards and of their visibilities.
type bbWorkspace struct {
	Path, Parent    string
	Weight          float64 // share of boards (and of uncategorised images)
	Private, Shared float64 // visibility shares; public is the rest
	GrantExpr       string  // SQL role of user u's grant here ("" none)
}

// The tree. Every user holds a grant on default, studio (its subtree), marketing and sandbox.
// Sandbox is where people keep their boards private: the hard case for the listing.
var bbTree = []bbWorkspace{
	{Path: "default", Weight: .10, Private: .60, Shared: .30, GrantExpr: `'viewer'`},
	{Path: "studio", Weight: .10, Private: .60, Shared: .30, GrantExpr: `CASE WHEN u % 10 < 8 THEN 'editor' ELSE 'viewer' END`},
	{Path: "studio/concept", Parent: "studio", Weight: .35, Private: .60, Shared: .30},
	{Path: "studio/concept/characters", Parent: "studio/concept", Weight: .15, Private: .60, Shared: .30},
	{Path: "studio/final", Parent: "studio", Weight: .10, Private: .60, Shared: .30},
	{Path: "marketing", Weight: .10, Private: .60, Shared: .30, GrantExpr: `CASE WHEN u % 2 = 0 THEN 'editor' ELSE 'viewer' END`},
	{Path: "sandbox", Weight: .10, Private: .97, Shared: .02, GrantExpr: `'editor'`},
}

// bbDSN is the admin DSN pointed at the benchmark database.
func bbDSN() string {
	u, err := url.Parse(apptest.AdminURL())
	if err != nil {
		return apptest.AdminURL()
	}
	u.Path = "/" + bbDB
	return u.String()
}

func bbDataDir() string {
	if d := os.Getenv("ATELIER_BENCH_DATA_DIR"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "atelier_bench_boards")
}

func bbProgress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench data: "+format+"\n", args...)
}

// bbStmt is one SQL statement a request ran.
type bbStmt struct {
	SQL  string
	Vars []any
}

// bbEnv is the opened data set and a running product on it, kept for the life of the test binary.
type bbEnv struct {
	app      *app.App
	handler  fasthttp.RequestHandler
	pg       *pgx.Conn // superuser connection to the benchmark database (reference queries)
	tenantID uuid.UUID
	ws       map[string]uuid.UUID
	ip       string

	capturing atomic.Bool
	capMu     sync.Mutex
	captured  []bbStmt

	tokMu  sync.Mutex
	tokens map[string]string // e-mail → access token

	filesOnce sync.Once
	files     bbFiles
}

var (
	bbOnce sync.Once
	bbEnvV *bbEnv
	bbErr  error
)

func bbSetup(b *testing.B) *bbEnv {
	b.Helper()
	if testing.Short() {
		b.Skip("-short: the boards and images data set is skipped")
	}
	bbOnce.Do(func() { bbEnvV, bbErr = bbOpen() })
	if bbErr != nil {
		b.Fatal(bbErr)
	}
	return bbEnvV
}

func bbOpen() (*bbEnv, error) {
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, apptest.AdminURL())
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL at the admin DSN is required: %w", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock($1)`, bbLock); err != nil {
		return nil, err
	}
	defer admin.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, bbLock) //nolint:errcheck

	digest, err := bbSchemaDigest()
	if err != nil {
		return nil, err
	}
	want := fmt.Sprintf("v%d users=%d boards=%d images=%d schema=%s", bbVersion, bbUsers, bbBoards, bbImages, digest)
	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, bbDB).Scan(&exists); err != nil {
		return nil, err
	}
	fresh := true
	if exists && os.Getenv("ATELIER_BENCH_REGEN") != "1" {
		have, took := bbMeta(ctx)
		if have == want {
			bbProgress("%s: reusing (%s; generated in %s)", bbDB, want, took)
			fresh = false
		} else {
			bbProgress("%s: found %q, want %q: generating again", bbDB, have, want)
		}
	}
	start := time.Now()
	if fresh {
		for _, q := range []string{`DROP DATABASE IF EXISTS ` + bbDB + ` WITH (FORCE)`, `CREATE DATABASE ` + bbDB} {
			if _, err := admin.Exec(ctx, q); err != nil {
				return nil, err
			}
		}
		sqlDB, err := sql.Open("pgx", bbDSN())
		if err != nil {
			return nil, err
		}
		_, err = migrations.Up(ctx, sqlDB, "postgres")
		sqlDB.Close()
		if err != nil {
			return nil, err
		}
		// Files of an earlier data set belong to a tenant that is gone.
		if err := os.RemoveAll(filepath.Join(bbDataDir(), "images")); err != nil {
			return nil, err
		}
		bbProgress("%s: created and migrated", bbDB)
	}

	env, err := bbStart()
	if err != nil {
		return nil, err
	}
	if fresh {
		if err := env.generate(ctx, start); err != nil {
			return nil, err
		}
		took := time.Since(start)
		if _, err := env.pg.Exec(ctx, `CREATE TABLE bench_meta (generated text NOT NULL, seconds float8 NOT NULL, at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return nil, err
		}
		if _, err := env.pg.Exec(ctx, `INSERT INTO bench_meta (generated, seconds) VALUES ($1, $2)`, want, took.Seconds()); err != nil {
			return nil, err
		}
		var size string
		_ = env.pg.QueryRow(ctx, `SELECT pg_size_pretty(pg_database_size(current_database()))`).Scan(&size)
		bbProgress("%s: done in %s (%s on disk)", bbDB, took.Round(time.Millisecond), size)
	}
	if err := env.load(ctx); err != nil {
		return nil, err
	}
	env.installCapture()
	return env, nil
}

func bbSchemaDigest() (string, error) {
	files, err := migrations.Versions("postgres")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, f := range files {
		raw, err := fs.ReadFile(migrations.FS(), f)
		if err != nil {
			return "", err
		}
		h.Write([]byte(f))
		h.Write(raw)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func bbMeta(ctx context.Context) (string, time.Duration) {
	conn, err := pgx.Connect(ctx, bbDSN())
	if err != nil {
		return "", 0
	}
	defer conn.Close(ctx)
	var have string
	var secs float64
	if err := conn.QueryRow(ctx, `SELECT generated, seconds FROM bench_meta`).Scan(&have, &secs); err != nil {
		return "", 0
	}
	return have, time.Duration(secs * float64(time.Second)).Round(time.Millisecond)
}

// bbStart runs the product on the benchmark database, in process, for the life of the binary.
func bbStart() (*bbEnv, error) {
	ctx := context.Background()
	cfg := configs.Defaults()
	cfg.DatabaseURL = bbDSN()
	cfg.RedisURL = apptest.RedisURL()
	cfg.DataDir = bbDataDir()
	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = byte(rand.IntN(256))
	}
	cfg.JWTSecret = hex.EncodeToString(secret)
	cfg.LogLevel = "error"
	cfg.PasswordHashMemoryKiB = 1024
	cfg.LoginLimitPerAddress = 10_000
	cfg.LoginLimitPerAccount = 10_000
	cfg.AccessTokenTTL = 6 * time.Hour
	cfg.TrustedProxies = []string{"0.0.0.0", "127.0.0.1"}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return nil, fmt.Errorf("start the app on %s (PostgreSQL and Redis are required): %w", bbDB, err)
	}
	pg, err := pgx.Connect(ctx, bbDSN())
	if err != nil {
		return nil, err
	}
	return &bbEnv{app: a, handler: app.NewServer(a).Fiber.Handler(), pg: pg, ws: map[string]uuid.UUID{},
		ip: fmt.Sprintf("10.%d.%d.%d", rand.IntN(250), rand.IntN(250), 1+rand.IntN(250)), tokens: map[string]string{}}, nil
}

// do sends one request to the in-process server.
func (e *bbEnv) do(method, path, token string, body any) (int, []byte) {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI(path)
	ctx.Request.Header.SetMethod(method)
	if token != "" {
		ctx.Request.Header.Set("Authorization", "Bearer "+token)
	}
	ctx.Request.Header.Set("X-Forwarded-For", e.ip)
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			panic(err)
		}
		ctx.Request.Header.SetContentType("application/json")
		ctx.Request.SetBody(raw)
	}
	e.handler(&ctx)
	return ctx.Response.StatusCode(), append([]byte(nil), ctx.Response.Body()...)
}

// login returns an access token of the user (password apptest.Password), once per e-mail.
func (e *bbEnv) login(email string) (string, error) {
	e.tokMu.Lock()
	defer e.tokMu.Unlock()
	if t, ok := e.tokens[email]; ok {
		return t, nil
	}
	st, body := e.do("POST", "/api/v1/auth/login", "", map[string]string{"tenant": bbSlug, "email": email, "password": apptest.Password})
	if st != 200 {
		return "", fmt.Errorf("login %s: %d %s", email, st, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil {
		return "", err
	}
	e.tokens[email] = tok.AccessToken
	return tok.AccessToken, nil
}

// generate fills the freshly migrated database: the tenant and its workspaces through the API,
// then everything else with one INSERT … SELECT per table (and per 100,000 images).
func (e *bbEnv) generate(ctx context.Context, start time.Time) error {
	st, body := e.do("POST", "/api/v1/tenants", "", map[string]any{"name": "Bench boards", "slug": bbSlug,
		"admin": map[string]string{"email": bbAdmin, "password": apptest.Password, "display_name": "Admin"}})
	if st != 201 {
		return fmt.Errorf("sign up: %d %s", st, body)
	}
	var su struct {
		Tenant struct {
			ID uuid.UUID `json:"id"`
		} `json:"tenant"`
	}
	if err := json.Unmarshal(body, &su); err != nil {
		return err
	}
	e.tenantID = su.Tenant.ID
	tok, err := e.login(bbAdmin)
	if err != nil {
		return err
	}
	ids := map[string]uuid.UUID{}
	var def uuid.UUID
	if err := e.pg.QueryRow(ctx, `SELECT id FROM workspaces WHERE tenant_id = $1 AND path = 'default'`, e.tenantID).Scan(&def); err != nil {
		return fmt.Errorf("the default workspace: %w", err)
	}
	ids["default"] = def
	for _, w := range bbTree[1:] {
		in := map[string]any{"name": w.Path, "slug": filepath.Base(w.Path)}
		if w.Parent != "" {
			in["parent_id"] = ids[w.Parent]
		}
		st, body := e.do("POST", "/api/v1/workspaces", tok, in)
		if st != 201 {
			return fmt.Errorf("create workspace %s: %d %s", w.Path, st, body)
		}
		var v struct {
			ID uuid.UUID `json:"id"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			return err
		}
		ids[w.Path] = v.ID
	}
	bbProgress("%s: tenant and %d workspaces made through the API", bbDB, len(ids))

	hasher, err := users.NewHasher(1024)
	if err != nil {
		return err
	}
	hash, err := hasher.Hash(apptest.Password)
	if err != nil {
		return err
	}
	conn := e.pg
	if _, err := conn.Exec(ctx, `SET synchronous_commit = off; SET work_mem = '256MB'; SET maintenance_work_mem = '512MB'`); err != nil {
		return err
	}
	// Deterministic uniform hash in [0, 1), and the user classes: 20 heavy users own 30% of the
	// boards, 200 regular ones 60%, the 780 others 10%; extra members are drawn 95% from the heavy
	// and regular users, 5% from the others (so those hold a handful of boards each).
	// UUIDv7-shaped ids from the creation time, as the product makes them (id order is creation
	// order, and rows lie in the heap in that order).
	fns := []string{
		`CREATE FUNCTION pg_temp.bb_h(text) RETURNS float8 LANGUAGE sql IMMUTABLE AS
			$$ SELECT ('x' || substr(md5($1), 1, 8))::bit(32)::bigint / 4294967296.0 $$`,
		`CREATE FUNCTION pg_temp.bb_owner(float8) RETURNS int LANGUAGE sql IMMUTABLE AS
			$$ SELECT least(999, CASE WHEN $1 < 0.3 THEN floor($1 / 0.3 * 20)
			                          WHEN $1 < 0.9 THEN 20 + floor(($1 - 0.3) / 0.6 * 200)
			                          ELSE 220 + floor(($1 - 0.9) / 0.1 * 780) END)::int $$`,
		`CREATE FUNCTION pg_temp.bb_member(float8) RETURNS int LANGUAGE sql IMMUTABLE AS
			$$ SELECT least(999, CASE WHEN $1 < 0.95 THEN floor($1 / 0.95 * 220)
			                          ELSE 220 + floor(($1 - 0.95) / 0.05 * 780) END)::int $$`,
		`CREATE FUNCTION pg_temp.bb_v7(timestamptz, text) RETURNS uuid LANGUAGE sql IMMUTABLE AS
			$$ SELECT (lpad(to_hex((extract(epoch FROM $1) * 1000)::bigint), 12, '0') || '7' || substr(md5($2), 1, 3)
			           || '8' || substr(md5($2), 4, 15))::uuid $$`,
		`CREATE FUNCTION pg_temp.bb_user(int) RETURNS uuid LANGUAGE sql IMMUTABLE AS
			$$ SELECT md5('bench-boards-user-' || $1)::uuid $$`,
	}
	for _, f := range fns {
		if _, err := conn.Exec(ctx, f); err != nil {
			return fmt.Errorf("helper function: %w", err)
		}
	}
	var (
		wsK                   []int32
		wsID                  []uuid.UUID
		wsLo, wsHi, wsP, wsSh []float64
	)
	cum := 0.0
	for k, w := range bbTree {
		wsK, wsID = append(wsK, int32(k)), append(wsID, ids[w.Path])
		wsLo, wsHi = append(wsLo, cum), append(wsHi, cum+w.Weight)
		wsP, wsSh = append(wsP, w.Private), append(wsSh, w.Shared)
		cum += w.Weight
	}
	wsHi[len(wsHi)-1] = 2 // the last one takes the rounding
	base := time.Now().UTC().Truncate(time.Second)
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE bb_ws AS SELECT * FROM unnest($1::int[], $2::uuid[], $3::float8[], $4::float8[], $5::float8[], $6::float8[])
		AS x(k, id, lo, hi, p_private, p_shared)`, wsK, wsID, wsLo, wsHi, wsP, wsSh); err != nil {
		return err
	}
	var grants []string
	for _, w := range bbTree {
		if w.GrantExpr != "" {
			grants = append(grants, fmt.Sprintf("('%s'::uuid, %s)", ids[w.Path], w.GrantExpr))
		}
	}
	concept := ids["studio/concept"]
	steps := []struct {
		name string
		sql  string
		args []any
	}{
		{"users", `INSERT INTO users (tenant_id, id, email, password_hash, display_name)
			SELECT $1, pg_temp.bb_user(u), 'u' || u || '@bench-boards.test', $2, 'User ' || u FROM generate_series(0, $3::int - 1) u`,
			[]any{e.tenantID, hash, bbUsers}},
		{"grant template", `CREATE TEMP TABLE bb_grant AS SELECT u, g.ws, g.role FROM generate_series(0, $1::int - 1) u
			CROSS JOIN LATERAL (VALUES ` + strings.Join(grants, ", ") + `) AS g(ws, role)`, []any{bbUsers}},
		{"grants", `INSERT INTO grants (tenant_id, id, workspace_id, subject_type, subject_id, role, created_at)
			SELECT $1, md5('bench-boards-grant-' || u || '-' || ws)::uuid, ws, 'user', pg_temp.bb_user(u), role, now()
			FROM bb_grant ORDER BY u, ws`, []any{e.tenantID}},
		{"casbin_rule (grants)", `INSERT INTO casbin_rule (ptype, v0, v1, v2)
			SELECT 'g', 'ws:' || ws, role || '@user:' || pg_temp.bb_user(u), $1::text FROM bb_grant ORDER BY u, ws`, []any{e.tenantID}},
		{"boards", `INSERT INTO boards (tenant_id, id, workspace_id, owner_id, name, description, visibility, published, created_at, updated_at)
			SELECT $1, pg_temp.bb_v7(x.at, 'bench-boards-board-' || x.i),
			       CASE WHEN x.i < $4 THEN $3::uuid ELSE w.id END,
			       pg_temp.bb_user(pg_temp.bb_owner(pg_temp.bb_h('bo' || x.i))),
			       'Board ' || x.i, CASE WHEN x.i % 3 = 0 THEN 'Explorations for the spring campaign' ELSE '' END,
			       CASE WHEN x.i < $4 THEN 'shared' WHEN x.hv < w.p_private THEN 'private'
			            WHEN x.hv < w.p_private + w.p_shared THEN 'shared' ELSE 'public' END,
			       false, x.at, x.at
			FROM (SELECT i, $5::timestamptz - ($2::int - i) * interval '5 minutes' AS at,
			             pg_temp.bb_h('bw' || i) AS hw, pg_temp.bb_h('bv' || i) AS hv
			      FROM generate_series(0, $2::int - 1) i) x
			JOIN bb_ws w ON x.hw >= w.lo AND x.hw < w.hi
			ORDER BY x.i`, []any{e.tenantID, bbBoards, concept, bbBig, base}},
		{"board_members (owners)", `INSERT INTO board_members (tenant_id, board_id, user_id, role, created_at)
			SELECT tenant_id, id, owner_id, 'owner', created_at FROM boards ORDER BY id`, nil},
		{"board_members (others)", `INSERT INTO board_members (tenant_id, board_id, user_id, role, created_at)
			SELECT $1, pg_temp.bb_v7($3::timestamptz - ($2::int - i) * interval '5 minutes', 'bench-boards-board-' || i),
			       pg_temp.bb_user(pg_temp.bb_member(pg_temp.bb_h('bm' || k || '-' || i))),
			       CASE WHEN pg_temp.bb_h('br' || k || '-' || i) < 0.5 THEN 'editor' ELSE 'viewer' END,
			       $3::timestamptz - ($2::int - i) * interval '5 minutes' + k * interval '1 hour'
			FROM generate_series(0, $2::int - 1) i CROSS JOIN generate_series(1, 3) k
			WHERE i % 4 >= k
			ORDER BY i, k
			ON CONFLICT DO NOTHING`, []any{e.tenantID, bbBoards, base}},
	}
	run := func(name, q string, args ...any) error {
		t0 := time.Now()
		tag, err := conn.Exec(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		bbProgress("%s: %-24s %9d rows in %6.1fs  (total %6.1fs)", bbDB, name, tag.RowsAffected(), time.Since(t0).Seconds(), time.Since(start).Seconds())
		return nil
	}
	for _, s := range steps {
		if err := run(s.name, s.sql, s.args...); err != nil {
			return err
		}
	}
	// Images: i % 10 = 9 uncategorised (owner and workspace drawn), i % 10 = 0 on one of the ten
	// big boards, the rest on a board drawn uniformly; owner and workspace are the board's.
	imagesSQL := `INSERT INTO images (tenant_id, id, workspace_id, owner_id, board_id, name, content_type, size_bytes,
			width, height, sha256, starred, metadata, created_at, updated_at)
		SELECT $1, pg_temp.bb_v7(x.at, 'bench-boards-image-' || x.i), coalesce(b.workspace_id, w.id),
		       coalesce(b.owner_id, pg_temp.bb_user(x.u)), b.id, 'image-' || x.i || '.png', 'image/png',
		       900000 + (x.i::bigint * 7919) % 1200000, 1024, 1024, md5('s' || x.i) || md5('t' || x.i), x.i % 23 = 0,
		       jsonb_build_object('prompt', 'a watercolour study of a lighthouse at dusk, variation ' || x.i,
		                          'negative_prompt', 'blurry, low quality', 'seed', x.i, 'steps', 30, 'cfg_scale', 7.5,
		                          'sampler', 'dpmpp_2m', 'model', 'sdxl-base-1.0', 'width', 1024, 'height', 1024),
		       x.at, x.at
		FROM (SELECT i, $5::timestamptz - ($4::int - i) * interval '30 seconds' AS at,
		             CASE WHEN i % 10 = 9 THEN NULL WHEN i % 10 = 0 THEN (i / 10) % $6::int
		                  ELSE floor(pg_temp.bb_h('ib' || i) * $7::int)::int END AS bi,
		             floor(pg_temp.bb_h('iu' || i) * $8::int)::int AS u, pg_temp.bb_h('iw' || i) AS hw
		      FROM generate_series($2::int, $3::int) i) x
		LEFT JOIN boards b ON x.bi IS NOT NULL AND b.tenant_id = $1
		     AND b.id = pg_temp.bb_v7($5::timestamptz - ($7::int - x.bi) * interval '5 minutes', 'bench-boards-board-' || x.bi)
		LEFT JOIN bb_ws w ON x.bi IS NULL AND x.hw >= w.lo AND x.hw < w.hi
		ORDER BY x.i`
	for from := 0; from < bbImages; from += bbChunk {
		to := min(bbImages, from+bbChunk) - 1
		if err := run(fmt.Sprintf("images %d…%d", from, to), imagesSQL, e.tenantID, from, to, bbImages, base, bbBig, bbBoards, bbUsers); err != nil {
			return err
		}
	}
	var nb, nm, ni int64
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM boards), (SELECT count(*) FROM board_members),
		(SELECT count(*) FROM images)`).Scan(&nb, &nm, &ni); err != nil {
		return err
	}
	if nb != bbBoards || ni != bbImages {
		return fmt.Errorf("generated %d boards and %d images, want %d and %d", nb, ni, bbBoards, bbImages)
	}
	var onBoards int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM images WHERE board_id IS NOT NULL`).Scan(&onBoards); err != nil {
		return err
	}
	if onBoards != bbImages*9/10 {
		return fmt.Errorf("%d images on boards, want %d (a board id did not match)", onBoards, bbImages*9/10)
	}
	bbProgress("%s: %d boards, %d memberships, %d images (%d on boards)", bbDB, nb, nm, ni, onBoards)
	t0 := time.Now()
	if _, err := conn.Exec(ctx, `VACUUM (ANALYZE)`); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	bbProgress("%s: VACUUM (ANALYZE) in %.1fs (total %.1fs)", bbDB, time.Since(t0).Seconds(), time.Since(start).Seconds())
	// The workspaces were made through this app: its cached policy predates the grants above.
	e.app.Enforcer.Forget(e.tenantID)
	return nil
}

// load reads the tenant and workspace ids of an existing data set.
func (e *bbEnv) load(ctx context.Context) error {
	if err := e.pg.QueryRow(ctx, `SELECT id FROM tenants WHERE slug = $1`, bbSlug).Scan(&e.tenantID); err != nil {
		return fmt.Errorf("tenant %s: %w", bbSlug, err)
	}
	rows, err := e.pg.Query(ctx, `SELECT path, id FROM workspaces WHERE tenant_id = $1`, e.tenantID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		var id uuid.UUID
		if err := rows.Scan(&p, &id); err != nil {
			return err
		}
		e.ws[p] = id
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, w := range bbTree {
		if e.ws[w.Path] == uuid.Nil {
			return fmt.Errorf("workspace %s missing from %s", w.Path, bbDB)
		}
	}
	return nil
}

// installCapture records the SQL of every statement gorm runs while capturing is on.
func (e *bbEnv) installCapture() {
	g := e.app.DB.Raw()
	fn := func(db *gorm.DB) {
		if !e.capturing.Load() {
			return
		}
		e.capMu.Lock()
		e.captured = append(e.captured, bbStmt{SQL: db.Statement.SQL.String(), Vars: append([]any(nil), db.Statement.Vars...)})
		e.capMu.Unlock()
	}
	_ = g.Callback().Query().After("gorm:query").Register("bench:capture", fn)
	_ = g.Callback().Row().After("gorm:row").Register("bench:capture", fn)
	_ = g.Callback().Raw().After("gorm:raw").Register("bench:capture", fn)
	_ = g.Callback().Create().After("gorm:create").Register("bench:capture", fn)
	_ = g.Callback().Update().After("gorm:update").Register("bench:capture", fn)
	_ = g.Callback().Delete().After("gorm:delete").Register("bench:capture", fn)
}

// capture runs one request and returns the statements it ran.
func (e *bbEnv) capture(fn func()) []bbStmt {
	e.capMu.Lock()
	e.captured = nil
	e.capMu.Unlock()
	e.capturing.Store(true)
	fn()
	e.capturing.Store(false)
	e.capMu.Lock()
	defer e.capMu.Unlock()
	return e.captured
}

// inline renders a statement with its arguments, for people.
func (e *bbEnv) inline(s bbStmt) string {
	return e.app.DB.Raw().Dialector.Explain(s.SQL, s.Vars...)
}

// explain runs EXPLAIN (ANALYZE, BUFFERS) of the statement as the product runs it: in a tenant
// transaction (role atelier_app, row-level security on), with the same arguments.
func (e *bbEnv) explain(s bbStmt) (string, error) {
	var lines []string
	err := e.app.DB.Tx(tenancy.WithTenant(context.Background(), e.tenantID), func(tx *gorm.DB) error {
		rows, err := tx.Statement.ConnPool.QueryContext(context.Background(), "EXPLAIN (ANALYZE, BUFFERS) "+s.SQL, s.Vars...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var l string
			if err := rows.Scan(&l); err != nil {
				return err
			}
			lines = append(lines, l)
		}
		return rows.Err()
	})
	return strings.Join(lines, "\n"), err
}

// timeStatement runs the statement n times in one tenant transaction and returns each duration.
func (e *bbEnv) timeStatement(s bbStmt, n int) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	err := e.app.DB.Tx(tenancy.WithTenant(context.Background(), e.tenantID), func(tx *gorm.DB) error {
		for range n {
			t0 := time.Now()
			rows, err := tx.Statement.ConnPool.QueryContext(context.Background(), s.SQL, s.Vars...)
			if err != nil {
				return err
			}
			for rows.Next() {
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return err
			}
			out = append(out, time.Since(t0))
		}
		return nil
	})
	return out, err
}

func bbLoadAvg() float64 {
	var l float64
	if raw, err := os.ReadFile("/proc/loadavg"); err == nil {
		_, _ = fmt.Sscan(string(raw), &l)
	}
	return l
}

func bbPercentiles(b *testing.B, prefix string, d []time.Duration) {
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

// bbPage is a list answer.
type bbPage struct {
	Items []struct {
		ID uuid.UUID `json:"id"`
	} `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// bbRequest is one benchmarked GET: the path, the caller's token, the ids the reference query
// says the page holds.
type bbRequest struct {
	path, token string
	want        []uuid.UUID
	// isListing picks the listing statement out of the request's statements.
	isListing func(sqlText string) bool
	banned    []string // plan nodes that must not appear
	metrics   map[string]float64
}

// run measures the request b.N times, then checks its statements and plan once per process.
func (e *bbEnv) run(b *testing.B, name string, r bbRequest) {
	b.Helper()
	// The page, and the statements behind it (after a first request that loads the tenant's
	// policy and warms the caches).
	e.do("GET", r.path, r.token, nil)
	var status int
	var body []byte
	stmts := e.capture(func() { status, body = e.do("GET", r.path, r.token, nil) })
	if status != 200 {
		b.Fatalf("GET %s: %d %s", r.path, status, body)
	}
	var page bbPage
	if err := json.Unmarshal(body, &page); err != nil {
		b.Fatal(err)
	}
	got := make([]uuid.UUID, len(page.Items))
	for i, it := range page.Items {
		got[i] = it.ID
	}
	if !slices.Equal(got, r.want) {
		b.Fatalf("GET %s: %d items, the reference query says %d (first %v vs %v)", r.path, len(got), len(r.want), head(got), head(r.want))
	}
	var listing []bbStmt
	for _, s := range stmts {
		if r.isListing(s.SQL) {
			listing = append(listing, s)
		}
	}
	if len(listing) != 1 {
		for _, s := range stmts {
			b.Logf("  %s", e.inline(s))
		}
		b.Fatalf("GET %s ran %d listing statements, want exactly one", r.path, len(listing))
	}

	ctx := &fasthttp.RequestCtx{}
	durs := make([]time.Duration, b.N)
	load := bbLoadAvg()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ctx.ResetUserValues()
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.SetRequestURI(r.path)
		ctx.Request.Header.SetMethod(fasthttp.MethodGet)
		ctx.Request.Header.Set("Authorization", "Bearer "+r.token)
		ctx.Request.Header.Set("X-Forwarded-For", e.ip)
		t0 := time.Now()
		e.handler(ctx)
		durs[i] = time.Since(t0)
		if ctx.Response.StatusCode() != 200 {
			b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
	b.StopTimer()
	sqlDurs, err := e.timeStatement(listing[0], max(50, min(b.N, 500)))
	if err != nil {
		b.Fatal(err)
	}
	bbPercentiles(b, "", durs)
	bbPercentiles(b, "sql-", sqlDurs)
	b.ReportMetric(float64(len(stmts)), "stmts/req")
	b.ReportMetric(float64(len(got)), "items")
	b.ReportMetric(max(load, bbLoadAvg()), "loadavg")
	for unit, v := range r.metrics {
		b.ReportMetric(v, unit)
	}

	bbExplainOnce(b, name, func() {
		plan, err := e.explain(listing[0])
		if err != nil {
			b.Fatal(err)
		}
		var all []string
		for i, s := range stmts {
			all = append(all, fmt.Sprintf("  %d. %s", i+1, truncateSQL(e.inline(s), 400)))
		}
		bbWritePlan(b, name, fmt.Sprintf("%s: GET %s ran %d statements:\n%s\n\nthe listing:\n  %s\n\nEXPLAIN (ANALYZE, BUFFERS):\n%s\n",
			name, r.path, len(stmts), strings.Join(all, "\n"), e.inline(listing[0]), plan))
		for _, bad := range r.banned {
			if strings.Contains(plan, bad) {
				b.Errorf("%s: the plan has %q", name, bad)
			}
		}
	})
}

var bbExplained sync.Map

// bbWritePlan writes a request's statements and plan to ATELIER_BENCH_PLANS (default
// <data dir>/plans), one file per case: benchmark logs are cut to a few lines.
func bbWritePlan(b *testing.B, name, text string) {
	b.Helper()
	dir := os.Getenv("ATELIER_BENCH_PLANS")
	if dir == "" {
		dir = filepath.Join(bbDataDir(), "plans")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, strings.ReplaceAll(name, "/", "_")+".txt")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		b.Fatal(err)
	}
	b.Logf("statements and plan: %s", path)
}

func bbExplainOnce(b *testing.B, name string, fn func()) {
	if _, done := bbExplained.LoadOrStore(name, true); !done {
		fn()
	}
}

func head(ids []uuid.UUID) []uuid.UUID { return ids[:min(3, len(ids))] }

func truncateSQL(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// bbUser is a user of the data set with their e-mail and board memberships in a workspace.
type bbUser struct {
	ID      uuid.UUID
	Email   string
	Members int // memberships on boards of the workspace
}

// memberOf picks, among the users holding at least one membership in the workspace, the one with
// the most (most=true) or the fewest.
func (e *bbEnv) memberOf(b *testing.B, ws uuid.UUID, most bool) bbUser {
	b.Helper()
	order := "ASC"
	if most {
		order = "DESC"
	}
	var u bbUser
	err := e.pg.QueryRow(context.Background(), `SELECT u.id, u.email, count(*) FROM board_members m
		JOIN boards b ON b.tenant_id = m.tenant_id AND b.id = m.board_id
		JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id
		WHERE b.tenant_id = $1 AND b.workspace_id = $2 AND u.email <> $3
		GROUP BY u.id, u.email ORDER BY count(*) `+order+`, u.email LIMIT 1`, e.tenantID, ws, bbAdmin).Scan(&u.ID, &u.Email, &u.Members)
	if err != nil {
		b.Fatal(err)
	}
	return u
}

// refBoards is the reference answer for the first page of the workspace's boards as the user
// (a member of the workspace) sees them, computed straight from the tables.
func (e *bbEnv) refBoards(b *testing.B, ws uuid.UUID, user uuid.UUID, all bool, limit int) []uuid.UUID {
	b.Helper()
	rows, err := e.pg.Query(context.Background(), `SELECT b.id FROM boards b WHERE b.tenant_id = $1 AND b.workspace_id = $2
		AND ($4 OR b.visibility <> 'private' OR b.id IN (SELECT board_id FROM board_members WHERE tenant_id = $1 AND user_id = $3))
		ORDER BY b.id LIMIT $5`, e.tenantID, ws, user, all, limit)
	if err != nil {
		b.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		b.Fatal(err)
	}
	return ids
}

func (e *bbEnv) token(b *testing.B, email string) string {
	b.Helper()
	t, err := e.login(email)
	if err != nil {
		b.Fatal(err)
	}
	return t
}

func isBoardListing(q string) bool {
	return strings.Contains(q, `FROM "boards"`) && strings.Contains(q, "ORDER BY boards.id") && strings.Contains(q, "LIMIT")
}

// BenchmarkBoards_list: the first page (50) of GET /api/v1/workspaces/:ws/boards for users with
// many and few memberships, in a workspace where 40% of the boards are shared or public
// (studio/concept, 35,000 boards) and in one where 97% are private (sandbox, 10,000 boards), and
// for the tenant admin (every board).
func BenchmarkBoards_list(b *testing.B) {
	cases := []struct {
		name, ws string
		who      string // many | few | admin
	}{
		{"concept/many", "studio/concept", "many"},
		{"concept/few", "studio/concept", "few"},
		{"concept/admin", "studio/concept", "admin"},
		{"sandbox/many", "sandbox", "many"},
		{"sandbox/few", "sandbox", "few"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			e := bbSetup(b)
			ws := e.ws[c.ws]
			var u bbUser
			all := false
			switch c.who {
			case "admin":
				all = true
				u.Email = bbAdmin
				if err := e.pg.QueryRow(context.Background(), `SELECT id FROM users WHERE tenant_id = $1 AND email = $2`, e.tenantID, bbAdmin).Scan(&u.ID); err != nil {
					b.Fatal(err)
				}
			default:
				u = e.memberOf(b, ws, c.who == "many")
			}
			e.run(b, "list/"+c.name, bbRequest{
				path:      "/api/v1/workspaces/" + ws.String() + "/boards",
				token:     e.token(b, u.Email),
				want:      e.refBoards(b, ws, u.ID, all, 50),
				isListing: isBoardListing,
				banned:    []string{"Seq Scan on boards", "Seq Scan on board_members"},
				metrics:   map[string]float64{"memberships-in-ws": float64(u.Members)},
			})
		})
	}
}

// bbBoard is a board with its image count.
type bbBoard struct {
	ID     uuid.UUID
	Images int
}

// boardWithImages picks the shared board of studio/concept with the most images (one of the ten
// big ones, 10,000) or one with about the average (8).
func (e *bbEnv) boardWithImages(b *testing.B, big bool) bbBoard {
	b.Helper()
	q := `SELECT b.id, (SELECT count(*) FROM images i WHERE i.tenant_id = b.tenant_id AND i.board_id = b.id) AS n
		FROM boards b WHERE b.tenant_id = $1 AND b.workspace_id = $2 AND b.visibility = 'shared'`
	if big {
		q += ` ORDER BY n DESC, b.id LIMIT 1`
	} else {
		q = `SELECT id, n FROM (` + q + ` ORDER BY b.id LIMIT 2000) x WHERE n = 8 ORDER BY id LIMIT 1`
	}
	var bd bbBoard
	if err := e.pg.QueryRow(context.Background(), q, e.tenantID, e.ws["studio/concept"]).Scan(&bd.ID, &bd.Images); err != nil {
		b.Fatal(err)
	}
	return bd
}

// reader is a workspace member who is not a member of the board (reads it because it is shared).
func (e *bbEnv) reader(b *testing.B, board uuid.UUID) bbUser {
	b.Helper()
	var u bbUser
	err := e.pg.QueryRow(context.Background(), `SELECT u.id, u.email FROM users u WHERE u.tenant_id = $1 AND u.email LIKE 'u%'
		AND NOT EXISTS (SELECT 1 FROM board_members m WHERE m.tenant_id = u.tenant_id AND m.board_id = $2 AND m.user_id = u.id)
		ORDER BY u.email LIMIT 1`, e.tenantID, board).Scan(&u.ID, &u.Email)
	if err != nil {
		b.Fatal(err)
	}
	return u
}

func (e *bbEnv) refImages(b *testing.B, board uuid.UUID, after uuid.UUID, limit int) []uuid.UUID {
	b.Helper()
	rows, err := e.pg.Query(context.Background(), `SELECT id FROM images WHERE tenant_id = $1 AND board_id = $2 AND id > $3
		ORDER BY id LIMIT $4`, e.tenantID, board, after, limit)
	if err != nil {
		b.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		b.Fatal(err)
	}
	return ids
}

func isImageListing(q string) bool {
	return strings.Contains(q, `FROM "images"`) && strings.Contains(q, "board_id =") && strings.Contains(q, "LIMIT")
}

// BenchmarkBoards_images: GET /api/v1/boards/:id/images, the first page (50) and a deep page (the
// cursor after the 9,000th image) of a board with 10,000 images, and the first page of a board
// with 8, read by a workspace member who is not a member of the (shared) board.
func BenchmarkBoards_images(b *testing.B) {
	cases := []struct {
		name string
		big  bool
		skip int // images before the page
	}{
		{"big/first", true, 0},
		{"big/deep9000", true, 9000},
		{"small/first", false, 0},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			e := bbSetup(b)
			bd := e.boardWithImages(b, c.big)
			after := uuid.Nil
			path := "/api/v1/boards/" + bd.ID.String() + "/images"
			if c.skip > 0 {
				if err := e.pg.QueryRow(context.Background(), `SELECT id FROM images WHERE tenant_id = $1 AND board_id = $2
					ORDER BY id OFFSET $3 LIMIT 1`, e.tenantID, bd.ID, c.skip-1).Scan(&after); err != nil {
					b.Fatal(err)
				}
				path += "?cursor=" + base64.RawURLEncoding.EncodeToString(after[:])
			}
			u := e.reader(b, bd.ID)
			e.run(b, "images/"+c.name, bbRequest{
				path:      path,
				token:     e.token(b, u.Email),
				want:      e.refImages(b, bd.ID, after, 50),
				isListing: isImageListing,
				banned:    []string{"Seq Scan on images", "Sort"},
				metrics:   map[string]float64{"board-images": float64(bd.Images)},
			})
		})
	}
}

// bbFiles are the images that have real files: large (1024×1024 PNG) and small (256×256), on the
// biggest shared board of studio/concept, with a workspace member who reads them.
type bbFiles struct {
	Large, Small []uuid.UUID
	Size         map[uuid.UUID]int
	Sum          map[uuid.UUID]string // hex SHA-256, as the row records it
	Reader       bbUser
}

// ensureFiles writes the PNG files (and thumbnails) of 16 images through the product's storage
// under the keys it derives from the ids, and makes the rows agree with them (type, size,
// dimensions, digest). Idempotent; done on every run, since the data directory may be new.
func (e *bbEnv) ensureFiles(b *testing.B) bbFiles {
	b.Helper()
	e.filesOnce.Do(func() {
		ctx := context.Background()
		bd := e.boardWithImages(b, true)
		rows, err := e.pg.Query(ctx, `SELECT id FROM images WHERE tenant_id = $1 AND board_id = $2 ORDER BY id LIMIT 16`, e.tenantID, bd.ID)
		if err != nil {
			b.Fatal(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil || len(ids) != 16 {
			b.Fatalf("16 images of board %s: %v (%d)", bd.ID, err, len(ids))
		}
		store, err := images.NewLocalStorage(filepath.Join(bbDataDir(), "images"))
		if err != nil {
			b.Fatal(err)
		}
		var thumb []byte
		e.files.Size = map[uuid.UUID]int{}
		e.files.Sum = map[uuid.UUID]string{}
		for i, id := range ids {
			side := 1024
			if i >= 8 {
				side = 256
			}
			// A file already stored that the row describes is kept (drawing the PNGs takes seconds).
			var rowSum string
			if err := e.pg.QueryRow(ctx, `SELECT sha256 FROM images WHERE tenant_id = $1 AND id = $2`, e.tenantID, id).Scan(&rowSum); err != nil {
				b.Fatal(err)
			}
			if data, ok := bbStored(ctx, store, images.FileKey(e.tenantID, id)); ok && bbSum(data) == rowSum && bbHasThumb(ctx, store, e.tenantID, id) {
				e.files.Size[id], e.files.Sum[id] = len(data), rowSum
			} else {
				data := bbPNG(side, uint64(i))
				if err := store.Put(ctx, images.FileKey(e.tenantID, id), data); err != nil {
					b.Fatal(err)
				}
				if thumb == nil {
					thumb = bbPNG(128, 99)
				}
				if err := store.Put(ctx, images.ThumbKey(e.tenantID, id), thumb); err != nil {
					b.Fatal(err)
				}
				if _, err := e.pg.Exec(ctx, `UPDATE images SET content_type = 'image/png', size_bytes = $3, width = $4, height = $4,
					sha256 = $5 WHERE tenant_id = $1 AND id = $2`, e.tenantID, id, len(data), side, bbSum(data)); err != nil {
					b.Fatal(err)
				}
				e.files.Size[id], e.files.Sum[id] = len(data), bbSum(data)
			}
			if i < 8 {
				e.files.Large = append(e.files.Large, id)
			} else {
				e.files.Small = append(e.files.Small, id)
			}
		}
		e.files.Reader = e.reader(b, bd.ID)
		if out := os.Getenv("ATELIER_BENCH_ENV"); out != "" {
			var sb strings.Builder
			fmt.Fprintf(&sb, "BENCH_DATABASE_URL='%s'\nBENCH_DATA_DIR='%s'\nBENCH_TENANT='%s'\nBENCH_EMAIL='%s'\nBENCH_PASSWORD='%s'\n",
				bbDSN(), bbDataDir(), bbSlug, e.files.Reader.Email, apptest.Password)
			fmt.Fprintf(&sb, "BENCH_LARGE_IDS='%s'\nBENCH_LARGE_BYTES=%d\nBENCH_SMALL_IDS='%s'\nBENCH_SMALL_BYTES=%d\n",
				joinIDs(e.files.Large), e.files.meanSize(e.files.Large), joinIDs(e.files.Small), e.files.meanSize(e.files.Small))
			if err := os.WriteFile(out, []byte(sb.String()), 0o600); err != nil {
				b.Fatal(err)
			}
		}
	})
	if len(e.files.Large) == 0 {
		b.Fatal("image files were not written")
	}
	return e.files
}

func bbSum(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// bbStored reads a stored file, if there is one.
func bbStored(ctx context.Context, store images.Storage, key string) ([]byte, bool) {
	f, _, err := store.Open(ctx, key)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	return data, err == nil
}

func bbHasThumb(ctx context.Context, store images.Storage, tenantID, id uuid.UUID) bool {
	_, ok := bbStored(ctx, store, images.ThumbKey(tenantID, id))
	return ok
}

func (f bbFiles) meanSize(ids []uuid.UUID) int {
	n := 0
	for _, id := range ids {
		n += f.Size[id]
	}
	return n / max(1, len(ids))
}

func joinIDs(ids []uuid.UUID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	return strings.Join(s, " ")
}

// bbPNG is a side×side opaque PNG that compresses like a generated picture: smooth gradients
// with a little noise (about 1.4 bytes per pixel at 1024×1024).
func bbPNG(side int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 42))
	img := image.NewNRGBA(image.Rect(0, 0, side, side))
	for y := range side {
		for x := range side {
			n := r.IntN(9) - 4
			img.SetNRGBA(x, y, color.NRGBA{
				R: uint8(min(255, max(0, x*255/side+n))),
				G: uint8(min(255, max(0, y*255/side+n))),
				B: uint8(min(255, max(0, (x+y)*127/side+n+int(seed)*8))),
				A: 255,
			})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// BenchmarkBoards_imageFile: GET /api/v1/images/:id/file in process (the whole authorization path
// of an image on a shared board read by a workspace member, then http.ServeContent), for a
// 1024×1024 and a 256×256 PNG. With ATELIER_BENCH_ENV set it also writes what
// scripts/bench-images.sh needs to load-test the real binary.
func BenchmarkBoards_imageFile(b *testing.B) {
	for _, size := range []string{"large", "small"} {
		b.Run(size, func(b *testing.B) {
			e := bbSetup(b)
			f := e.ensureFiles(b)
			ids := f.Large
			if size == "small" {
				ids = f.Small
			}
			tok := e.token(b, f.Reader.Email)
			e.do("GET", "/api/v1/images/"+ids[0].String()+"/file", tok, nil) // loads the tenant's policy
			stmts := e.capture(func() {
				st, body := e.do("GET", "/api/v1/images/"+ids[0].String()+"/file", tok, nil)
				if st != 200 || len(body) != f.Size[ids[0]] {
					b.Fatalf("file: %d, %d bytes, want 200 and %d", st, len(body), f.Size[ids[0]])
				}
			})
			// What is served is the stored file, byte for byte.
			if st, body := e.do("GET", "/api/v1/images/"+ids[1].String()+"/file", tok, nil); st != 200 || bbSum(body) != f.Sum[ids[1]] {
				b.Fatalf("file %s: status %d, %d bytes, not the stored PNG", ids[1], st, len(body))
			}
			ctx := &fasthttp.RequestCtx{}
			durs := make([]time.Duration, b.N)
			load := bbLoadAvg()
			b.SetBytes(int64(f.meanSize(ids)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				ctx.ResetUserValues()
				ctx.Request.Reset()
				ctx.Response.Reset()
				id := ids[i%len(ids)]
				ctx.Request.SetRequestURI("/api/v1/images/" + id.String() + "/file")
				ctx.Request.Header.SetMethod(fasthttp.MethodGet)
				ctx.Request.Header.Set("Authorization", "Bearer "+tok)
				ctx.Request.Header.Set("X-Forwarded-For", e.ip)
				t0 := time.Now()
				e.handler(ctx)
				durs[i] = time.Since(t0)
				if ctx.Response.StatusCode() != 200 || len(ctx.Response.Body()) != f.Size[id] {
					b.Fatalf("status %d, %d bytes", ctx.Response.StatusCode(), len(ctx.Response.Body()))
				}
			}
			b.StopTimer()
			bbPercentiles(b, "", durs)
			b.ReportMetric(float64(len(stmts)), "stmts/req")
			b.ReportMetric(max(load, bbLoadAvg()), "loadavg")
			bbExplainOnce(b, "file/"+size, func() {
				var all []string
				for i, s := range stmts {
					all = append(all, fmt.Sprintf("  %d. %s", i+1, truncateSQL(e.inline(s), 300)))
				}
				bbWritePlan(b, "file/"+size, fmt.Sprintf("GET /api/v1/images/:id/file (%d bytes) ran %d statements:\n%s\n", f.Size[ids[0]], len(stmts), strings.Join(all, "\n")))
			})
		})
	}
}

// BenchmarkBoards_decision: the decision-point work a board or image read does before any SQL
// (boards' standing: Allowed for board:admin, workspace:read and board:read on the board's
// workspace, then RolesOn), on a tenant where every one of the 1,000 users holds a grant on the
// workspace's parent (studio) and on the three other roots: the ancestors' nodes carry 1,000
// links each.
func BenchmarkBoards_decision(b *testing.B) {
	e := bbSetup(b)
	ctx := context.Background()
	enf := e.app.Enforcer
	node := "ws:" + e.ws["studio/concept"].String()
	var user uuid.UUID
	if err := e.pg.QueryRow(ctx, `SELECT id FROM users WHERE tenant_id = $1 AND email = 'u500@bench-boards.test'`, e.tenantID).Scan(&user); err != nil {
		b.Fatal(err)
	}
	acts := []string{"board:admin", "workspace:read", "board:read"}
	for _, a := range acts { // loads the tenant's policy
		if _, err := enf.Allowed(ctx, e.tenantID, user, node, bbAction(a)); err != nil {
			b.Fatal(err)
		}
	}
	allowed, rolesOn := make([]time.Duration, b.N), make([]time.Duration, b.N)
	load := bbLoadAvg()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		var got []bool
		for _, a := range acts {
			ok, err := enf.Allowed(ctx, e.tenantID, user, node, bbAction(a))
			if err != nil {
				b.Fatal(err)
			}
			got = append(got, ok)
		}
		t1 := time.Now()
		roles, err := enf.RolesOn(ctx, e.tenantID, user, node)
		allowed[i], rolesOn[i] = t1.Sub(t0), time.Since(t1)
		if err != nil {
			b.Fatal(err)
		}
		// u500 is an editor on studio (500 % 10 < 8): reads the workspace, is no board admin.
		if !slices.Equal(got, []bool{false, true, false}) || !slices.Equal(roles, []string{"editor"}) {
			b.Fatalf("decisions %v, roles %v; want [false true false] and [editor]", got, roles)
		}
	}
	b.StopTimer()
	bbPercentiles(b, "3xAllowed-", allowed)
	bbPercentiles(b, "RolesOn-", rolesOn)
	b.ReportMetric(max(load, bbLoadAvg()), "loadavg")
}

func bbAction(a string) rbac.Action { return rbac.Action(a) }
