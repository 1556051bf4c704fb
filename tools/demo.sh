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
# A subscriber: a small HTTP receiver on 127.0.0.1 that answers 204 and logs
# every VnfLcmOperationOccurrenceNotification it receives.
receiver_log="$NFV_DATA_DIR/notifications.log"
receiver_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 - "$receiver_port" "$receiver_log" <<'PY' &
import http.server, json, sys
port, log = int(sys.argv[1]), sys.argv[2]
class Receiver(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(204); self.end_headers()
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with open(log, "a") as out:
            out.write(f"{body['operation']:<12} {body['operationState']:<13} "
                      f"{body['notificationStatus']}\n")
        self.send_response(204); self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Receiver).serve_forever()
PY
receiver_pid=$!
trap 'kill $receiver_pid 2>/dev/null; nfv sandbox down >/dev/null 2>&1 || true' EXIT
sleep 0.5
echo "{\"callbackUri\": \"http://127.0.0.1:$receiver_port/notify\"}" > "$NFV_DATA_DIR/subscription.json"
step "subscribe to operation notifications (the receiver answers the test GET with 204)" \
    nfv vnflcm subsc create "$NFV_DATA_DIR/subscription.json"

# The VNF lifecycle on the sandbox, failures and rollback included.
sample=$(python3 -c 'import nfvlib, pathlib; print(pathlib.Path(nfvlib.__file__).parent / "samples" / "sample_vnf")')
pkg=$(nfv vnf package create -f value -c ID)
step "onboard the sample VNF package" nfv vnf package upload "$pkg" --path "$sample"
vnfd=$(nfv vnf package show "$pkg" -f value -c "VNFD ID")
vnf=$(nfv vnflcm create "$vnfd" --name demo-vnf -f value -c ID)
request="$NFV_DATA_DIR/instantiate.json"
echo '{"flavourId": "simple", "instantiationLevelId": "instantiation_level_1"}' > "$request"
step "instantiate (stack vnf-$vnf, VDU1 x1 + VDU2 x1)" nfv vnflcm instantiate "$vnf" "$request" --wait
step "show the VNF and its VNFCs" nfv vnflcm show "$vnf"
step "scale out VDU1 by one step" nfv vnflcm scale "$vnf" --type SCALE_OUT --aspect-id VDU1_scale --wait
members() {  # VDU1's AutoScalingGroup members as Heat holds them, oldest first
    python3 - "$vnf" <<'PY'
import sys
import nfvlib
from nfvlib.heat import HeatClient
client = nfvlib.Client()
vim = client.vims.find_vim("sandbox")
heat = HeatClient(client.vims.session(vim), region_name=vim.regions[0])
top = heat.get_stack(f"vnf-{sys.argv[1]}")
group = next(r for r in heat.list_resources(top) if r["resource_name"] == "VDU1_scale_group")
stack = heat.get_stack(group["physical_resource_id"])
rows = sorted(heat.list_resources(stack), key=lambda r: r["creation_time"])
print("VDU1 members in Heat:", " ".join(r["resource_name"] for r in rows))
PY
}
step "VDU1 members before the failed scale-out" members
# The sample's lifecycle script fails the event that additionalParams name as
# sample_fail_event: the scale-out reaches Heat (VDU1 x3), then fails at scale_end.
echo '{"additionalParams": {"sample_fail_event": "scale_end"}}' > "$NFV_DATA_DIR/fail.json"
step "scale out again, with a failure injected at scale_end (exit 20: FAILED_TEMP)" \
    bash -c "nfv vnflcm scale '$vnf' --type SCALE_OUT --aspect-id VDU1_scale --additional-param-file '$NFV_DATA_DIR/fail.json' --wait; test \$? -eq 20"
step "VDU1 members after the failed scale-out" members
op=$(nfv vnflcm op list --filter "(eq,operationState,FAILED_TEMP)" -f value -c ID | tail -n 1)
step "the failed operation occurrence" nfv vnflcm op show "$op"
step "roll it back: VDU1 back to x2" nfv vnflcm op rollback "$op" --wait
step "VNF after the rollback" nfv vnflcm show "$vnf" -c "Instantiation State" -c "VNFC Instances"
step "VDU1 members after the rollback: the same two as before it" members
step "operation history" nfv vnflcm op list
inst_op=$(nfv vnflcm op list --filter "(eq,operation,INSTANTIATE)" -f value -c ID | head -n 1)
step "the instantiate's journal: each step, the lifecycle script's exit and output" \
    nfv vnflcm op show "$inst_op" -f yaml
step "terminate" nfv vnflcm terminate "$vnf" --termination-type FORCEFUL --wait
step "delete the VNF and the package" bash -c "nfv vnflcm delete '$vnf' && nfv vnf package delete '$pkg'"

step "deliver what is left, then the notifications the subscriber received" \
    bash -c "nfv vnflcm subsc deliver >/dev/null; cat '$receiver_log'"
step "sandbox status" nfv sandbox status
step "stop the sandbox" nfv sandbox down
step "health after stop: UNREACHABLE (exit 6)" bash -c "nfv vim check; test \$? -eq 6"
printf '\nAll steps done.\n'
