#!/bin/sh
# Lifecycle hook of the nfvkit sample VNF, named by the VNFD's Vnflcm
# interface for instantiate, scale and terminate (start and end).
# The event comes as the first argument or in NFV_LCM_EVENT; the script
# reports it with the NFV_* parameters it was given and succeeds, unless
# the operation's additionalParams name that event as "sample_fail_event"
# (to try rollback and retry), e.g. {"sample_fail_event": "scale_end"}.
set -eu

event="${1:-${NFV_LCM_EVENT:-unknown}}"
echo "sample_vnf: lifecycle event ${event}"
env | grep '^NFV_' | sort || true

case "${NFV_ADDITIONAL_PARAMS:-}" in
    *"\"sample_fail_event\": \"${event}\""*)
        echo "sample_vnf: failing ${event} as additionalParams.sample_fail_event asks" >&2
        exit 1
        ;;
esac
