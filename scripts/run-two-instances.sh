#!/usr/bin/env bash
# Builds the example chat server and starts two instances (http://localhost:8080/ and :8081) that share one
# Redis: sessions, rate limits and one cluster-wide admission queue (USHER_QUEUE=redis), so the cap holds
# across both and each page shows the global position. Ctrl-C stops both.
#   USHER_REDIS   the Redis both use (default redis://127.0.0.1:6379; start one with `redis-server`)
# Every other setting is an environment variable; see the README's "Example server" section.
set -euo pipefail
cd "$(dirname "$0")/.."
REDIS="${USHER_REDIS:-redis://127.0.0.1:6379}"
mvn -B -q -pl examples -am package -DskipTests
export USHER_STORE=redis USHER_STORE_URL="$REDIS" USHER_QUEUE=redis USHER_QUEUE_REDIS="$REDIS"
USHER_PORT=8080 java -jar examples/target/usher-examples.jar & first=$!
USHER_PORT=8081 java -jar examples/target/usher-examples.jar & second=$!
trap 'kill "$first" "$second" 2>/dev/null || true' EXIT INT TERM
wait
