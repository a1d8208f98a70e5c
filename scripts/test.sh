#!/usr/bin/env bash
# Runs every test: starts the servers the tests need (scripts/test-env.sh), runs the Maven build with
# all tests, and stops the servers again, whatever the outcome. Exits non-zero if any test fails.
# Extra arguments go to Maven (e.g. -pl session-jdbc -am).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
trap 'scripts/test-env.sh stop' EXIT
scripts/test-env.sh start
# The example's departed-clients test holds 10,000 sockets open in one JVM: raise the soft limit on open
# files to the hard one (no privilege needed); the test fails with a message naming the limit if too low.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mvn -B verify "$@"
