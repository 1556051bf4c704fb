#!/usr/bin/env bash
# Install nfvkit with its test dependencies into .venv and run every test.
# Functional tests start a real Keystone and a real Heat through nfvlib's
# sandbox code (installed once into virtualenvs under $XDG_CACHE_HOME/nfvkit).
set -euo pipefail
cd "$(dirname "$0")/.."
# The sandbox's Tacker keeps its records in MariaDB from the system's packages.
if ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ] \
        && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q mariadb-server
fi
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
exec .venv/bin/python -m pytest -p no:cacheprovider tests "$@"
