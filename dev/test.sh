#!/usr/bin/env bash
# The whole test suite. Starts (or installs, on a fresh Debian machine) what the tests talk to:
# Redis, PostgreSQL and MariaDB on their standard loopback ports, and a real llama.cpp server
# built from source into the user's cache (about 13 minutes the first time, instant after).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ -x dev/services.sh ]]; then
  dev/services.sh
fi
dev/llama-server.sh build >/dev/null
./mvnw -B verify "$@"
