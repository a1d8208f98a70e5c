#!/usr/bin/env bash
# Builds and starts the example chat server on the embedded default (sessions in ./data/usher.db, SQLite
# in WAL mode; workspaces in ./data/workspaces), then open http://localhost:8080/ (USHER_PORT to change).
# Every setting is an environment variable; see the README's "Example server" section.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -pl examples -am package -DskipTests
exec java -jar examples/target/usher-examples.jar
