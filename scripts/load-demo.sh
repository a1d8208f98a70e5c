#!/usr/bin/env bash
# Simulates N users (default 50) against a running example server (default http://localhost:8080) and
# prints a live summary: admitted, queued, done, wait p50/p95, 429s, 503s.
# usage: scripts/load-demo.sh [users] [base-url]
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -f examples/target/usher-examples.jar ]] || mvn -B -q -pl examples -am package -DskipTests
exec java -cp examples/target/usher-examples.jar dev.usher.examples.chat.LoadDemo "${1:-50}" "${2:-http://localhost:8080}"
