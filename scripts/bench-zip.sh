#!/usr/bin/env bash
# bench-zip.sh: the download worker's zip writer against `zip -0 -r` on the same files, in the
# same run, with the peak RSS of each.
#
#   1. generates FILES files of FILE_MB MiB of random bytes (incompressible, like images) in a
#      temporary directory (nothing large is kept or committed);
#   2. builds scripts/benchzip: the worker's path — each file opened and streamed through
#      downloads.Archive (stored, not deflated; SHA-256 of the archive computed on the way) into a
#      downloads.LocalStorage temporary file, fsynced and renamed on Commit;
#   3. runs, RUNS times alternately after one warm-up each: benchzip, `zip -0 -r -q` followed by
#      `sync` of its archive (durable like the worker's), and plain `zip -0 -r -q`; each under
#      /usr/bin/time -v for wall time and maximum resident set size;
#   4. prints each run, the medians, throughput in MB/s and the ratio benchzip / zip (target ≥ 0.8)
#      and checks both archives with `unzip -tq`.
#
#   FILES (1000)  FILE_MB (1)  RUNS (5)  BENCH_DIR (a fresh mktemp -d)
# The machine's load average is printed: the cores may be shared.
set -euo pipefail

cd "$(dirname "$0")/.."
: "${FILES:=1000}"
: "${FILE_MB:=1}"
: "${RUNS:=5}"

if ! command -v zip >/dev/null || ! command -v unzip >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		apt-get install -y zip unzip >/dev/null
	else
		echo "bench-zip: zip and unzip are required (apt-get install -y zip unzip)" >&2
		exit 1
	fi
fi
[ -x /usr/bin/time ] || { echo "bench-zip: /usr/bin/time is required (apt-get install -y time)" >&2; exit 1; }

work="${BENCH_DIR:-$(mktemp -d)}"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src" "$work/out"

echo "generating $FILES files of $FILE_MB MiB in $work/src"
head -c $((FILES * FILE_MB * 1048576)) /dev/urandom |
	split -b $((FILE_MB * 1048576)) -a 5 -d --additional-suffix=.png - "$work/src/img_"
total=$(du -sb "$work/src" | cut -f1)

go build -o "$work/benchzip" ./scripts/benchzip
cat "$work/src"/* >/dev/null # both sides read from the page cache

# run NAME CMD...: one timed run; appends "wall_seconds max_rss_kib" to $work/NAME.runs.
run() {
	local name=$1
	shift
	rm -rf "$work/out" "$work/zip.zip"
	mkdir -p "$work/out"
	/usr/bin/time -v -o "$work/time.txt" "$@" >/dev/null
	local wall rss
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$work/time.txt")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
	echo "$wall $rss" >>"$work/$name.runs"
	printf '  %-10s wall %6.2fs  max RSS %7d KiB\n' "$name" "$wall" "$rss"
}

ours() { run ours "$work/benchzip" "$work/src" "$work/out"; }
zipsync() { run zip+sync sh -c "cd '$work' && zip -0 -r -q zip.zip src && sync zip.zip"; }
zipplain() { run zip sh -c "cd '$work' && zip -0 -r -q zip.zip src"; }

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
echo "warm-up"
ours >/dev/null
zipsync >/dev/null
zipplain >/dev/null
rm -f "$work"/*.runs
for i in $(seq "$RUNS"); do
	echo "run $i"
	ours
	zipsync
	zipplain
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
report() {
	local name=$1 wall rss
	wall=$(cut -d' ' -f1 "$work/$name.runs" | median)
	rss=$(cut -d' ' -f2 "$work/$name.runs" | median)
	awk -v n="$name" -v w="$wall" -v r="$rss" -v b="$total" \
		'BEGIN {printf "%-10s median wall %6.2fs  %7.1f MB/s  median max RSS %6.1f MiB\n", n, w, b/w/1e6, r/1024}'
	echo "$wall" >"$work/$name.median"
}
echo "$FILES files, $total bytes, medians of $RUNS runs:"
report ours
report zip+sync
report zip
awk -v a="$(cat "$work/ours.median")" -v b="$(cat "$work/zip+sync.median")" -v c="$(cat "$work/zip.median")" \
	'BEGIN {printf "throughput ours / (zip -0 + sync): %.2f   ours / zip -0: %.2f   (target >= 0.80)\n", b/a, c/a}'

# Both archives are whole and hold every file.
rm -rf "$work/out" "$work/zip.zip"
mkdir -p "$work/out"
"$work/benchzip" "$work/src" "$work/out" >/dev/null
(cd "$work" && zip -0 -r -q zip.zip src)
unzip -tq "$work"/out/*/*.zip
unzip -tq "$work/zip.zip"
