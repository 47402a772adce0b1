#!/usr/bin/env bash
# Set up a fresh machine of this project's kind (Debian, Python 3.11, root, no Docker engine) to run
# fraudscore and its tests. Safe to run again: every step skips what is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python}

say() { printf 'bootstrap: %s\n' "$*" >&2; }

# apt-get install, refreshing the package lists only when the first attempt fails.
apt_install() {
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        say "missing $*: install it (apt-get install -y $*) and run again"
        exit 1
    fi
    say "installing $* with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "$@" >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q "$@" >/dev/null; }
}

say "Python packages (pip install -e '.[test,dev]')"
"$PYTHON" -m pip install -q -e '.[test,dev]'

command -v redis-server >/dev/null || apt_install redis-server
command -v java >/dev/null || apt_install openjdk-17-jre-headless
command -v mvn >/dev/null || apt_install maven

say "Kafka jars (Maven, cached; skipped when present)"
"$PYTHON" -m fraudscore.cli stack fetch >/dev/null
say "ready"
