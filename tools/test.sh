#!/usr/bin/env bash
# Install nfvkit with its test dependencies into .venv and run every test.
# Functional tests start a real Keystone and a real Heat through nfvlib's
# sandbox code (installed once into virtualenvs under $XDG_CACHE_HOME/nfvkit).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
exec .venv/bin/python -m pytest -p no:cacheprovider tests "$@"
