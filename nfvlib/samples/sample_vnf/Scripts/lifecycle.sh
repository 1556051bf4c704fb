#!/bin/sh
# Lifecycle hook of the nfvkit sample VNF, named by the VNFD's Vnflcm
# interface for instantiate, scale and terminate (start and end).
# The event comes as the first argument or in NFV_LCM_EVENT; the script
# reports it with the NFV_* parameters it was given and succeeds, unless
# SAMPLE_VNF_FAIL_EVENT names that event (to try rollback and retry).
set -eu

event="${1:-${NFV_LCM_EVENT:-unknown}}"
echo "sample_vnf: lifecycle event ${event}"
env | grep '^NFV_' | sort || true

if [ "${SAMPLE_VNF_FAIL_EVENT:-}" = "${event}" ]; then
    echo "sample_vnf: failing ${event} because SAMPLE_VNF_FAIL_EVENT=${event}" >&2
    exit 1
fi
