#!/usr/bin/env bash
# ensure-services.sh: make sure the PostgreSQL and Redis that the test suite needs are installed,
# running and reachable. Idempotent: on a machine where both already answer it only checks.
#
# Reads TEST_DATABASE_URL (an admin DSN able to CREATE DATABASE / CREATE ROLE) and TEST_REDIS_URL.
# A service whose URL points at this machine (127.0.0.1, localhost, ::1) is installed with
# apt-get when missing and started when stopped; a remote one is only waited for.
# Exits non-zero, loudly, when a service cannot be had. Tests never skip for a missing service,
# so neither does this script.
#
#   SERVICES_WAIT_SECONDS  how long to wait for each service to answer (default 60)
#   PG_CLUSTER             the local Debian cluster name to create/start (default main)
set -euo pipefail

: "${TEST_DATABASE_URL:=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
: "${TEST_REDIS_URL:=redis://127.0.0.1:6379/0}"
: "${SERVICES_WAIT_SECONDS:=60}"
: "${PG_CLUSTER:=main}"
export TEST_DATABASE_URL TEST_REDIS_URL

log() { printf 'ensure-services: %s\n' "$*"; }

die() {
	{
		printf '\n'
		printf 'ensure-services: ################################################################\n'
		printf 'ensure-services: FATAL: %s\n' "$*"
		printf 'ensure-services: the test suite needs a real PostgreSQL and Redis; it will not skip.\n'
		printf 'ensure-services: ################################################################\n'
	} >&2
	exit 1
}

# Run as root, or through sudo when not root and sudo is there without a password.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -n "$@"
	else
		return 1
	fi
}

apt_updated=0
apt_install() {
	command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install $* by hand"
	if [ "$apt_updated" -eq 0 ]; then
		log "apt-get update"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null ||
			die "apt-get update failed"
		apt_updated=1
	fi
	log "apt-get install $*"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" </dev/null ||
		die "apt-get install $* failed"
}

# url_host URL → the host part of a postgres:// or redis:// URL (empty when none).
url_host() {
	local rest=${1#*://}
	rest=${rest%%/*}
	rest=${rest%%\?*}
	rest=${rest##*@}
	case $rest in
	\[*\]*) rest=${rest#[}; rest=${rest%%]*} ;;
	*) rest=${rest%%:*} ;;
	esac
	printf '%s' "$rest"
}

# url_port URL DEFAULT → the port of a URL, or DEFAULT when it names none.
url_port() {
	local rest=${1#*://}
	rest=${rest%%/*}
	rest=${rest%%\?*}
	rest=${rest##*@}
	rest=${rest##*]}
	case $rest in
	*:*) printf '%s' "${rest##*:}" ;;
	*) printf '%s' "$2" ;;
	esac
}

is_local() {
	case $1 in
	'' | 127.0.0.1 | localhost | ::1) return 0 ;;
	*) return 1 ;;
	esac
}

redact() { printf '%s' "$1" | sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#'; }

# wait_for NAME CMD...: retry CMD once a second until it succeeds or SERVICES_WAIT_SECONDS pass.
wait_for() {
	local name=$1
	shift
	local deadline=$((SECONDS + SERVICES_WAIT_SECONDS))
	until "$@" >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			return 1
		fi
		sleep 1
	done
	log "$name answers after $((SECONDS - deadline + SERVICES_WAIT_SECONDS))s"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------

pg_ready() { pg_isready -q -d "$TEST_DATABASE_URL"; }

pg_latest_version() {
	# The newest installed server major version, from the clusters' config or the binaries.
	{
		ls /etc/postgresql 2>/dev/null
		ls /usr/lib/postgresql 2>/dev/null
	} | grep -E '^[0-9]+$' | sort -n | tail -n 1
}

pg_log_tail() {
	local f
	for f in /var/log/postgresql/postgresql-*-"$PG_CLUSTER".log; do
		[ -f "$f" ] || continue
		printf 'ensure-services: --- last lines of %s ---\n' "$f" >&2
		tail -n 20 "$f" >&2 || true
	done
}

pg_start_local() {
	if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(pg_latest_version)" ]; then
		log "postgres not installed; installing"
		apt_install postgresql postgresql-client
	fi
	local ver
	ver=$(pg_latest_version)
	[ -n "$ver" ] || die "postgres: no server version found after install"

	local port
	port=$(url_port "$TEST_DATABASE_URL" 5432)
	if [ ! -d "/etc/postgresql/$ver/$PG_CLUSTER" ]; then
		log "postgres: creating cluster $ver/$PG_CLUSTER on port $port"
		as_root pg_createcluster "$ver" "$PG_CLUSTER" --port "$port" </dev/null ||
			die "postgres: pg_createcluster $ver $PG_CLUSTER failed"
	fi
	log "postgres: starting cluster $ver/$PG_CLUSTER"
	# A cluster that is already online makes pg_ctlcluster exit 2; that is fine.
	as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$PG_CLUSTER" start </dev/null || true
}

# Local TCP connections as the superuser may be refused by a stock pg_hba.conf (md5/scram for
# host lines). Only then, trust loopback connections and reload.
pg_trust_loopback() {
	local ver hba
	ver=$(pg_latest_version)
	hba="/etc/postgresql/$ver/$PG_CLUSTER/pg_hba.conf"
	[ -f "$hba" ] || return 1
	if grep -qE '^host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
		return 1 # already trusted: the failure is something else
	fi
	log "postgres: TCP login refused; trusting loopback in $hba and reloading"
	as_root cp "$hba" "$hba.bak.ensure-services" || return 1
	local tmp
	tmp=$(mktemp)
	{
		printf 'host    all    all    127.0.0.1/32    trust\n'
		printf 'host    all    all    ::1/128         trust\n'
		as_root cat "$hba"
	} >"$tmp" || return 1
	as_root cp "$tmp" "$hba" || return 1
	rm -f "$tmp"
	as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$PG_CLUSTER" reload </dev/null || return 1
	sleep 1
}

pg_query() { psql "$TEST_DATABASE_URL" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1" </dev/null; }

ensure_postgres() {
	local host
	host=$(url_host "$TEST_DATABASE_URL")
	log "postgres: checking $(redact "$TEST_DATABASE_URL")"

	if ! command -v psql >/dev/null 2>&1 || ! command -v pg_isready >/dev/null 2>&1; then
		is_local "$host" || die "postgres: psql/pg_isready missing and the server is remote"
		log "postgres client not installed; installing"
		apt_install postgresql-client
	fi

	if ! pg_ready; then
		if is_local "$host"; then
			pg_start_local
		else
			log "postgres: remote server $host not ready yet; waiting"
		fi
		if ! wait_for postgres pg_ready; then
			is_local "$host" && pg_log_tail
			die "postgres at $host:$(url_port "$TEST_DATABASE_URL" 5432) is not accepting connections after ${SERVICES_WAIT_SECONDS}s"
		fi
	fi

	if ! pg_query 'select 1' >/dev/null 2>&1; then
		if ! is_local "$host" || ! pg_trust_loopback || ! pg_query 'select 1' >/dev/null 2>&1; then
			psql "$TEST_DATABASE_URL" -X -c 'select 1' </dev/null >&2 || true
			die "postgres: cannot log in with TEST_DATABASE_URL=$(redact "$TEST_DATABASE_URL")"
		fi
	fi
	psql "$TEST_DATABASE_URL" -X -q -c 'select 1' </dev/null >/dev/null

	local super version
	super=$(pg_query 'select rolsuper from pg_roles where rolname = current_user')
	if [ "$super" != "t" ]; then
		die "postgres: the TEST_DATABASE_URL role is not a superuser (tests CREATE DATABASE and CREATE ROLE)"
	fi
	version=$(pg_query 'show server_version')
	log "postgres up (${version%% *}) superuser=$(pg_query 'select current_user')"
}

# ---------------------------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------------------------

redis_ping() { [ "$(redis-cli -u "$TEST_REDIS_URL" ping 2>/dev/null </dev/null)" = "PONG" ]; }

redis_start_local() {
	if ! command -v redis-server >/dev/null 2>&1; then
		log "redis not installed; installing"
		apt_install redis-server
	fi
	as_root mkdir -p /var/lib/redis /var/log/redis || true
	local port
	port=$(url_port "$TEST_REDIS_URL" 6379)
	log "redis: starting redis-server on 127.0.0.1:$port"
	as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$port" --save "" --appendonly no \
		--dir /var/lib/redis --logfile /var/log/redis/ci.log </dev/null ||
		die "redis: redis-server failed to start (see /var/log/redis/ci.log)"
}

ensure_redis() {
	local host
	host=$(url_host "$TEST_REDIS_URL")
	log "redis: checking $(redact "$TEST_REDIS_URL")"

	if ! command -v redis-cli >/dev/null 2>&1; then
		is_local "$host" || die "redis: redis-cli missing and the server is remote"
		log "redis client not installed; installing"
		apt_install redis-tools
	fi

	if ! redis_ping; then
		if is_local "$host"; then
			redis_start_local
		else
			log "redis: remote server $host not ready yet; waiting"
		fi
		if ! wait_for redis redis_ping; then
			redis-cli -u "$TEST_REDIS_URL" ping </dev/null >&2 || true
			if is_local "$host" && [ -f /var/log/redis/ci.log ]; then
				printf 'ensure-services: --- last lines of /var/log/redis/ci.log ---\n' >&2
				tail -n 20 /var/log/redis/ci.log >&2 || true
			fi
			die "redis at $host:$(url_port "$TEST_REDIS_URL" 6379) does not answer PING after ${SERVICES_WAIT_SECONDS}s"
		fi
	fi

	local version
	version=$(redis-cli -u "$TEST_REDIS_URL" info server </dev/null | tr -d '\r' | sed -n 's/^redis_version://p')
	log "redis up (${version:-unknown})"
}

ensure_postgres
ensure_redis
log "all services ready"
