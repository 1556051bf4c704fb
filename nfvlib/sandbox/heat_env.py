"""The Heat environment that runs real VNF templates on the sandbox Heat.

The sandbox Heat has no Nova, Neutron or Cinder. :func:`sandbox_environment`
maps their resource types (``OS::Nova::Server``, ``OS::Neutron::Port``, ...)
to provider templates (``templates/fake_*.yaml``) that accept exactly the
real type's properties and offer every one of its attributes with plausible
values (addresses, MAC addresses, fixed IPs, ids that are UUIDs), so a VNF
package's HOT runs unchanged. The templates were generated from Heat's own
schemata by ``templates/generate.py``; this module only reads them.

Each server stand-in holds one ``OS::Heat::TestResource`` named
:data:`SERVER_BODY`. :func:`injection_environment` swaps that resource, in
one member of a scaling group only, for a variant that fails or is slow.
"""

from __future__ import annotations

import copy
import json
import functools
import re
from pathlib import Path
from typing import Any, Literal

from nfvlib.exceptions import InvalidInput

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

#: Real resource type -> provider template file name (written by generate.py).
RESOURCE_REGISTRY: dict[str, str] = json.loads(
    (TEMPLATES_DIR / "registry.json").read_text(encoding="utf-8"))

#: Name of the resource inside ``fake_server.yaml`` that injection swaps.
SERVER_BODY = "sandbox_vm"
#: Type of that resource.
SERVER_BODY_TYPE = "OS::Heat::TestResource"

FAIL_TEMPLATE = "fake_server_fail.yaml"
SLOW_TEMPLATE = "fake_server_slow.yaml"

#: How many template levels below a group member a server may sit and still
#: be reached by an injection (0: the member is the server itself).
INJECTION_DEPTH = 3

Mode = Literal["fail", "slow", "clear"]

_DELAY_DEFAULT = re.compile(r"(\n  delay_secs:\n(?:    .*\n)*?    default: )\d+")


@functools.cache
def _template_text(name: str) -> str:
    return (TEMPLATES_DIR / name).read_text(encoding="utf-8")


def sandbox_environment() -> tuple[dict[str, Any], dict[str, str]]:
    """The environment and files to merge into every stack on the sandbox VIM.

    Returns ``(environment, files)``: ``environment`` is
    ``{"resource_registry": {"OS::Nova::Server": "fake_server.yaml", ...}}``
    and ``files`` maps each of those file names to its template text. Both
    are fresh copies the caller may modify.
    """
    env = {"resource_registry": dict(RESOURCE_REGISTRY)}
    files = {name: _template_text(name) for name in sorted(set(RESOURCE_REGISTRY.values()))}
    return env, files


def _body_override(template: str) -> dict[str, Any]:
    """Registry entries swapping the server body at every depth below a member."""
    entry = {SERVER_BODY: {SERVER_BODY_TYPE: template}}
    nested: dict[str, Any] = copy.deepcopy(entry)
    for _ in range(INJECTION_DEPTH):
        nested = dict(copy.deepcopy(entry), **{"*": nested})
    return nested


def slow_template(delay: int) -> tuple[str, str]:
    """``(file name, template text)`` of a server body taking ``delay`` seconds."""
    text, count = _DELAY_DEFAULT.subn(lambda m: m.group(1) + str(int(delay)),
                                      _template_text(SLOW_TEMPLATE), count=1)
    if count != 1:
        raise RuntimeError(f"{SLOW_TEMPLATE} has no delay_secs default")
    return f"fake_server_slow_{int(delay)}.yaml", text


def injection_environment(group: str, member: str, mode: Mode,
                          delay: int = 0) -> tuple[dict[str, Any], dict[str, str]]:
    """The environment and files to PATCH into a stack to inject a fault.

    ``group`` is the name of a scaling group resource (``ResourceGroup``,
    ``AutoScalingGroup``) in the stack, ``member`` the name of one of its
    members (``"2"`` in a ResourceGroup; fnmatch wildcards allowed). Every
    server of that member (the member itself, or a server in the member's
    nested template up to :data:`INJECTION_DEPTH` levels down) then:

    * ``"fail"``: fails its next create or update with
      "Test Resource failed injected_failure";
    * ``"slow"``: takes ``delay`` seconds for each create and update;
    * ``"clear"``: behaves normally again (removes an earlier injection).

    PATCH merges environments, so an injection stays until cleared. The
    injected behaviour takes effect with the next update of the stack.
    Returns ``(environment, files)``.
    """
    if not group or not member:
        raise InvalidInput("injection needs a group and a member name")
    if mode == "clear":
        registry: dict[str, Any] = {"resources": {group: {member: None}}}
        return {"resource_registry": registry}, {}
    if mode == "fail":
        name, text = FAIL_TEMPLATE, _template_text(FAIL_TEMPLATE)
    elif mode == "slow":
        if delay < 0:
            raise InvalidInput(f"delay must be 0 or more seconds, not {delay}")
        name, text = slow_template(delay)
    else:
        raise InvalidInput(f"unknown injection mode {mode!r}",
                           hint="use fail, slow or clear")
    registry = {"resources": {group: {member: _body_override(name)}}}
    return {"resource_registry": registry}, {name: text}


__all__ = ["sandbox_environment", "injection_environment", "slow_template",
           "RESOURCE_REGISTRY", "SERVER_BODY", "TEMPLATES_DIR"]
