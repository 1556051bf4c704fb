#!/usr/bin/env bash
# The main job: install nfvkit into .venv, bring up the sandbox VIM (a real
# Keystone and a real Heat on 127.0.0.1), register and inspect VIMs, check
# their health, then stop the sandbox. Each step prints its wall time.
# State goes to $NFV_DATA_DIR (default: ./.nfv-demo, removed at the start).
set -euo pipefail
cd "$(dirname "$0")/.."
export NFV_DATA_DIR="${NFV_DATA_DIR:-$PWD/.nfv-demo}"
rm -rf "$NFV_DATA_DIR"

step() {
    local title=$1; shift
    printf '\n=== %s\n$ %s\n' "$title" "$*"
    local start=$SECONDS rc=0
    "$@" || rc=$?
    printf -- '--- %s: exit %s, %ss\n' "$title" "$rc" "$((SECONDS - start))"
    return "$rc"
}

step "install nfvkit" bash -c "python3 -m venv .venv && .venv/bin/python -m pip install -q --upgrade pip && .venv/bin/python -m pip install -q ."
export PATH="$PWD/.venv/bin:$PATH"
trap 'nfv sandbox down >/dev/null 2>&1 || true' EXIT

step "bring up the sandbox VIM (Keystone + Heat, installed once)" nfv sandbox up
step "bring it up again (fast path)" nfv sandbox up -f value -c vim_status
step "list VIMs" nfv vim list

# Register a second VIM from a config file, as an operator would.
config=$(mktemp)
chmod 600 "$config"
{
    echo "auth_url: $(nfv sandbox status -f value -c keystone_url)"
    echo "username: nfv"
    echo "password: $(cat "$NFV_DATA_DIR/sandbox/vim-password")"
    echo "project_name: nfv"
    echo "project_domain_name: Default"
    echo "user_domain_name: Default"
    echo "cert_verify: 'False'"
    echo "type: openstack"
} > "$config"
step "register site1 from a config file" nfv vim register site1 --config-file "$config" --description "the sandbox again"
rm -f "$config"
step "show site1 as YAML (password masked)" nfv vim show site1 -f yaml
step "a wrong password is refused, nothing stored" bash -c "printf 'auth_url: %s\nusername: nfv\npassword: wrong\nproject_name: nfv\n' \"\$(nfv vim show site1 -f value -c auth_url)\" > '$NFV_DATA_DIR/bad.yaml'; ! nfv vim register bad --config-file '$NFV_DATA_DIR/bad.yaml'"
step "check VIM health (Keystone + Heat in each region)" nfv vim check
step "rotate the vault keys" nfv vim rotate-keys
step "list VIMs with placement" nfv vim list --long
step "sandbox status" nfv sandbox status
step "stop the sandbox" nfv sandbox down
step "health after stop: UNREACHABLE" bash -c "nfv vim check; test \$? -eq 6"
printf '\nAll steps done.\n'
