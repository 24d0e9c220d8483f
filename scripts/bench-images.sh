#!/usr/bin/env bash
# bench-images.sh: GET /api/v1/images/{id}/file under a load tool, on the real binary.
#
#   1. make build (bin/app);
#   2. the boards/images data set (one tenant, 1,000 users, 100,000 boards, 1,000,000 images in
#      the database atelier_bench_boards, generated once by app/bench_boards_test.go and reused)
#      and 16 real PNG files under its data directory: BenchmarkBoards_imageFile ensures both and
#      writes their coordinates (DSN, data dir, a reader's e-mail, the image ids) to an env file;
#   3. bin/app serve on that database (DATABASE_URL as the PostgreSQL superuser of the test
#      setup, a member of atelier_app: every tenant transaction still runs as atelier_app under
#      row-level security), Redis, a fresh JWT_SECRET, LOG_LEVEL=warn (no per-request access log);
#   4. a password login as a workspace member who reads the images through a shared board (not
#      a member of the board, not the owner of the images);
#   5. wrk on 8 large (1024x1024, ~1 MB) and 8 small (256x256, ~64 KB) PNGs, rotating over the ids,
#      and on conditional requests (If-None-Match: 304, no body).
#
# Reads TEST_DATABASE_URL / TEST_REDIS_URL like the test suite, and:
#   BENCH_PORT (18080)  WRK_THREADS (2)  WRK_CONNECTIONS (32)  WRK_DURATION (15s)
#   LOG_LEVEL (warn)    ATELIER_BENCH_DATA_DIR (where the data set's files live)
# The machine's load average is printed with every figure: the cores may be shared.
set -euo pipefail

cd "$(dirname "$0")/.."
: "${TEST_DATABASE_URL:=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
: "${TEST_REDIS_URL:=redis://127.0.0.1:6379/0}"
: "${BENCH_PORT:=18080}"
: "${WRK_THREADS:=2}"
: "${WRK_CONNECTIONS:=32}"
: "${WRK_DURATION:=15s}"
: "${LOG_LEVEL:=warn}"
export TEST_DATABASE_URL TEST_REDIS_URL

for tool in wrk curl jq psql; do
	command -v "$tool" >/dev/null || { echo "bench-images: $tool is required (apt-get install -y $tool)" >&2; exit 1; }
done

work="$(mktemp -d)"
server_pid=""
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

log() { printf 'bench-images: %s\n' "$*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

log "building bin/app"
make build >/dev/null

log "ensuring the data set and the image files (the first run generates them: about 5 minutes)"
ATELIER_BENCH_ENV="$work/bench.env" go test -run '^$' -bench '^BenchmarkBoards_imageFile$' -benchtime 50x -timeout 60m ./app/ >"$work/prepare.log" 2>&1 ||
	{ cat "$work/prepare.log" >&2; exit 1; }
# shellcheck source=/dev/null
. "$work/bench.env"

log "starting bin/app serve on 127.0.0.1:$BENCH_PORT"
DATABASE_URL="$BENCH_DATABASE_URL" REDIS_URL="$TEST_REDIS_URL" DATA_DIR="$BENCH_DATA_DIR" \
	JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" HTTP_ADDR="127.0.0.1:$BENCH_PORT" \
	LOG_LEVEL="$LOG_LEVEL" LOGIN_LIMIT_PER_ACCOUNT=1000 ACCESS_TOKEN_TTL=1h \
	./bin/app serve >"$work/server.log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:$BENCH_PORT"
for _ in $(seq 1 150); do
	curl -fsS "$base/healthz" >/dev/null 2>&1 && break
	kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
	sleep 0.2
done
curl -fsS "$base/healthz" >/dev/null || { log "the server did not become healthy"; cat "$work/server.log" >&2; exit 1; }

token="$(curl -fsS -X POST "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
	-d "$(jq -n --arg t "$BENCH_TENANT" --arg e "$BENCH_EMAIL" --arg p "$BENCH_PASSWORD" '{tenant:$t,email:$e,password:$p}')" |
	jq -r .access_token)"
[ -n "$token" ] && [ "$token" != null ] || { log "login failed"; exit 1; }

# Every id answers 200 with a PNG of the recorded size before the load starts.
for id in $BENCH_LARGE_IDS $BENCH_SMALL_IDS; do
	out="$(curl -sS -o /dev/null -w '%{http_code} %{content_type} %{size_download}' -H "Authorization: Bearer $token" "$base/api/v1/images/$id/file")"
	case "$out" in
	"200 image/png "*) ;;
	*) log "GET /api/v1/images/$id/file: $out"; exit 1 ;;
	esac
done
etag="$(curl -sS -D - -o /dev/null -H "Authorization: Bearer $token" "$base/api/v1/images/${BENCH_SMALL_IDS%% *}/file" | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')"

cat >"$work/rotate.lua" <<'LUA'
-- Rotate over the ids in IDS. summary.errors.status counts answers outside 2xx/3xx.
local ids, i = {}, 0
for id in string.gmatch(os.getenv("IDS"), "%S+") do ids[#ids + 1] = id end
request = function()
	i = i + 1
	return wrk.format("GET", "/api/v1/images/" .. ids[(i % #ids) + 1] .. "/file")
end
done = function(summary, latency, requests)
	io.write(string.format("p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms  requests %d  non-2xx/3xx %d  socket errors %d\n",
		latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
		latency.max / 1000, summary.requests, summary.errors.status,
		summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA

# CPU time (in clock ticks) of the server and of the PostgreSQL backends serving it: per request,
# it says what a request costs whatever else the shared cores are doing.
hz="$(getconf CLK_TCK)"
ticks() { # pids...
	local t=0 p
	for p in "$@"; do
		[ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
	done
	echo "$t"
}
backends() { psql -X -Atq "$BENCH_DATABASE_URL" -c "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"; }

run() { # name ids [extra wrk arguments]
	local name="$1" ids="$2"
	shift 2
	# A short warm-up opens the server's database connections, so that their backends are known.
	IDS="$ids" wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d2s -H "Authorization: Bearer $token" "$@" -s "$work/rotate.lua" "$base" >/dev/null
	local before pids s0 p0 out
	before="$(loadavg)"
	pids="$(backends | tr '\n' ' ')"
	s0="$(ticks "$server_pid")"
	# shellcheck disable=SC2086
	p0="$(ticks $pids)"
	log "wrk $name: -t$WRK_THREADS -c$WRK_CONNECTIONS -d$WRK_DURATION (load average before: $before)"
	out="$(IDS="$ids" wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$WRK_DURATION" --latency \
		-H "Authorization: Bearer $token" "$@" -s "$work/rotate.lua" "$base")"
	local s1 p1 n
	s1="$(ticks "$server_pid")"
	# shellcheck disable=SC2086
	p1="$(ticks $pids)"
	echo "$out" | sed 's/^/    /'
	n="$(echo "$out" | sed -n 's/^p50.*requests \([0-9]*\) .*/\1/p')"
	echo "    CPU per request: server $(awk -v d=$((s1 - s0)) -v n="$n" -v hz="$hz" 'BEGIN {printf "%.2f", 1000 * d / hz / n}') ms," \
		"PostgreSQL backends $(awk -v d=$((p1 - p0)) -v n="$n" -v hz="$hz" 'BEGIN {printf "%.2f", 1000 * d / hz / n}') ms" \
		"($(echo "$pids" | wc -w) backends)"
	echo "    load average before: $before  after: $(loadavg)"
	echo
}

echo "GET /api/v1/images/{id}/file on bin/app ($(nproc) cores; Go $(go env GOVERSION); LOG_LEVEL=$LOG_LEVEL)"
echo "  large: 8 PNGs 1024x1024, ~$BENCH_LARGE_BYTES bytes each; small: 8 PNGs 256x256, ~$BENCH_SMALL_BYTES bytes each"
echo
[ "$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" -H "If-None-Match: $etag" \
	"$base/api/v1/images/${BENCH_SMALL_IDS%% *}/file")" = 304 ] || { log "If-None-Match $etag did not answer 304"; exit 1; }

run "small" "$BENCH_SMALL_IDS"
run "large" "$BENCH_LARGE_IDS"
run "conditional (If-None-Match: 304, no body)" "${BENCH_SMALL_IDS%% *}" -H "If-None-Match: $etag"
