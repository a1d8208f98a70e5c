#!/usr/bin/env bash
# Runs the benchmark suite and prints one report: Usher against its peers, same run, with ratios.
#   scripts/bench.sh [smoke|quick|full] [regex of the parts to run]
# quick (the default) takes about 16 minutes on 2 cores; full (about 33) is for numbers to quote; smoke only checks
# that everything runs. It starts the servers with scripts/test-env.sh (the same as the tests) and stops
# them afterwards, but only those it started: servers that are already up are used and left running.
# The report is also written to benchmarks/target/bench-results/report.md, beside JMH's JSON results.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
mode=${1:-quick}
case $mode in smoke|quick|full) ;; *) echo "usage: $0 [smoke|quick|full] [regex]" >&2; exit 2 ;; esac

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
started=0
if up 55432 && up 56379; then
  echo "[bench] using the servers already running on 127.0.0.1:55432 and :56379" >&2
elif up 55432 || up 56379; then
  # Starting would clash with (or, for PostgreSQL, reinitialise) servers that another checkout runs.
  echo "[bench] only one of PostgreSQL (:55432) and Redis (:56379) is up: start or stop both first" >&2
  exit 1
else
  scripts/test-env.sh start
  started=1
fi
stop() { if ((started)); then scripts/test-env.sh stop; fi; }
trap stop EXIT

mvn -B -q -pl benchmarks -am package -DskipTests -Dbenchmarks.skipJar=false
java -Dusher.bench.out=benchmarks/target/bench-results -jar benchmarks/target/benchmarks.jar "$mode" "${2:-.*}"
