#!/usr/bin/env bash
# Starts (or stops) the real servers the tests use, on loopback and non-default ports:
#   PostgreSQL 15  127.0.0.1:55432  user "usher", database "usher_test" (trust auth, loopback only)
#   Redis          127.0.0.1:56379  (standalone)
#   Redis Cluster  127.0.0.1:47001-47003 (three masters, no replicas; bus ports +10000)
# State (data dirs, logs, PID files) lives in $USHER_TEST_ENV (default: <repo>/.test-env).
# Every server is stopped by the PID recorded when it started.
#
# usage: scripts/test-env.sh start|stop|status
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
state=${USHER_TEST_ENV:-$repo/.test-env}
PG_PORT=55432
REDIS_PORT=56379
CLUSTER_PORTS=(47001 47002 47003)

log() { printf '[test-env] %s\n' "$*" >&2; }

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo -n "$@"; fi; }

pg_bin() {
  local b
  for b in "$(command -v pg_ctl 2>/dev/null || true)" /usr/lib/postgresql/*/bin/pg_ctl; do
    if [[ -n $b && -x $b ]]; then dirname "$(readlink -f "$b")"; return; fi
  done
}

ensure_packages() {
  local missing=()
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  [[ -n $(pg_bin) ]] || missing+=(postgresql)
  # The example's browser test drives Debian's Chromium through its chromedriver (no browser downloads).
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  [[ -x /usr/bin/chromedriver ]] || missing+=(chromium-driver)
  if ((${#missing[@]})); then
    log "installing ${missing[*]} with apt-get"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  # The dashboard test (GrafanaDashboardTest) starts its own Prometheus on a free port and stops it by PID.
  if [[ ! -x /usr/bin/prometheus ]]; then
    log "installing prometheus with apt-get"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    # Where systemd runs, the package starts its own service on :9090; the tests never use it.
    if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
      as_root systemctl disable --now prometheus >/dev/null 2>&1 || true
    fi
  fi
  # The Debian packages start their own servers on the default ports; ours never use those.
}

# initdb refuses to run as root: run PostgreSQL as the "postgres" user when we are root.
pg_user() {
  if [[ $(id -u) -ne 0 ]]; then id -un; return; fi
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  echo postgres
}

run_as() {
  local user=$1; shift
  if [[ $(id -un) == "$user" ]]; then "$@"; else runuser -u "$user" -- "$@"; fi
}

alive() { [[ -f $1 ]] && kill -0 "$(head -n1 "$1")" 2>/dev/null; }

start_pg() {
  local bin user dir
  bin=$(pg_bin); user=$(pg_user)
  if alive "$state/pg.pid"; then log "postgres already running"; return; fi
  # The cluster lives outside the checkout: the postgres user may not be able to reach a clone under
  # /root. A fresh cluster per start keeps runs independent.
  dir=${USHER_PG_DIR:-/tmp/usher-test-pg-$PG_PORT}
  rm -rf "$dir"
  mkdir -p "$dir"
  chown "$user" "$dir" 2>/dev/null || true
  echo "$dir" >"$state/pg.dir"
  if [[ ! -f $dir/data/PG_VERSION ]]; then
    run_as "$user" "$bin/initdb" -D "$dir/data" -U usher -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || run_as "$user" "$bin/initdb" -D "$dir/data" -U usher -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1
  fi
  run_as "$user" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $dir -c max_connections=300 -c fsync=on -c shared_preload_libraries=pg_stat_statements" >/dev/null \
    || run_as "$user" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $dir -c max_connections=300" >/dev/null
  head -n1 "$dir/data/postmaster.pid" >"$state/pg.pid"
  "$bin/psql" -h 127.0.0.1 -p $PG_PORT -U usher -d postgres -qtAc "SELECT 1 FROM pg_database WHERE datname='usher_test'" | grep -q 1 \
    || "$bin/psql" -h 127.0.0.1 -p $PG_PORT -U usher -d postgres -qc "CREATE DATABASE usher_test" >/dev/null
  log "postgres up on 127.0.0.1:$PG_PORT (pid $(cat "$state/pg.pid"))"
}

start_redis() { # name port extra-args...
  local name=$1 port=$2; shift 2
  local dir=$state/$name
  if alive "$state/$name.pid"; then log "$name already running"; return; fi
  mkdir -p "$dir"
  rm -f "$dir/nodes.conf"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no \
    --daemonize yes --pidfile "$state/$name.pid" --logfile "$dir/redis.log" "$@"
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$port" ping >/dev/null
}

start_cluster() {
  local p nodes=()
  for p in "${CLUSTER_PORTS[@]}"; do
    start_redis "cluster-$p" "$p" --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000
    nodes+=("127.0.0.1:$p")
  done
  if ! redis-cli -p "${CLUSTER_PORTS[0]}" cluster info | grep -q 'cluster_state:ok'; then
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$state/cluster-create.log" 2>&1
    for _ in $(seq 100); do
      redis-cli -p "${CLUSTER_PORTS[0]}" cluster info | grep -q 'cluster_state:ok' && break; sleep 0.1
    done
  fi
  redis-cli -p "${CLUSTER_PORTS[0]}" cluster info | grep -q 'cluster_state:ok'
  log "redis cluster up on 127.0.0.1:${CLUSTER_PORTS[*]}"
}

stop_pidfile() {
  local f=$1 pid
  [[ -f $f ]] || return 0
  pid=$(head -n1 "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

case ${1:-} in
  start)
    mkdir -p "$state"
    ensure_packages
    start_pg
    start_redis redis $REDIS_PORT
    log "redis up on 127.0.0.1:$REDIS_PORT"
    start_cluster
    ;;
  stop)
    # PostgreSQL gets a fast shutdown signal (SIGINT) so it exits cleanly; the others SIGTERM.
    if [[ -f $state/pg.pid ]] && kill -0 "$(head -n1 "$state/pg.pid")" 2>/dev/null; then
      kill -INT "$(head -n1 "$state/pg.pid")" || true
    fi
    for f in "$state"/*.pid; do [[ -e $f ]] && stop_pidfile "$f"; done
    log "stopped"
    ;;
  status)
    for f in "$state"/*.pid; do
      [[ -e $f ]] || continue
      if alive "$f"; then echo "$(basename "$f" .pid) running (pid $(head -n1 "$f"))"; else echo "$(basename "$f" .pid) not running"; fi
    done
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
