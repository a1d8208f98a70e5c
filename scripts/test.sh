#!/usr/bin/env bash
# Runs every test: starts the servers the tests need (scripts/test-env.sh), runs the Maven build with
# all tests, and stops the servers again, whatever the outcome. Exits non-zero if any test fails.
# Extra arguments go to Maven (e.g. -pl session-jdbc -am).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
trap 'scripts/test-env.sh stop' EXIT
scripts/test-env.sh start
mvn -B verify "$@"
