"""The sandbox Heat: a real Heat engine and API, driven over plain HTTP.

No Keystone is involved: the API runs the ``noauth`` pipeline, so requests
go straight to ``HeatService.api_url``. Stacks use the sandbox environment
(Nova/Neutron/Cinder types mapped to provider templates).
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
import time
import uuid

import pytest
import requests

from nfvlib.sandbox.heat_env import injection_environment, sandbox_environment

from tests.data import TACKER_SAMPLE as SAMPLE
from tests.functional.templates import GROUP_TEMPLATE, VDU_TEMPLATE
POLL = 0.25
TIMEOUT = 120.0



SERVER_GROUP_TEMPLATE = """\
heat_template_version: 2018-08-31
parameters:
  count: {type: number, default: 2}
resources:
  servers:
    type: OS::Heat::ResourceGroup
    properties:
      count: {get_param: count}
      resource_def:
        type: OS::Nova::Server
        properties: {name: "srv-%index%", flavor: m1.tiny, image: cirros}
outputs:
  names: {value: {get_attr: [servers, name]}}
"""

# Every mapped type, with the properties real templates use (hidden aliases
# such as a port's network_id included).
ALL_TYPES_TEMPLATE = """\
heat_template_version: 2018-08-31
resources:
  net: {type: OS::Neutron::Net, properties: {name: n1}}
  pnet:
    type: OS::Neutron::ProviderNet
    properties: {network_type: vlan, physical_network: physnet1, segmentation_id: "100"}
  subnet:
    type: OS::Neutron::Subnet
    properties:
      network: {get_resource: net}
      cidr: 10.10.0.0/24
      allocation_pools: [{start: 10.10.0.10, end: 10.10.0.20}]
  subnet_old:
    type: OS::Neutron::Subnet
    properties: {network_id: {get_resource: pnet}, ip_version: 4}
  sg:
    type: OS::Neutron::SecurityGroup
    properties: {rules: [{protocol: tcp, port_range_min: 22, port_range_max: 22}]}
  sg_rule:
    type: OS::Neutron::SecurityGroupRule
    properties: {security_group: {get_resource: sg}, protocol: icmp}
  port:
    type: OS::Neutron::Port
    properties:
      network: {get_resource: net}
      fixed_ips: [{subnet: {get_resource: subnet}, ip_address: 10.10.0.5}]
      security_groups: [{get_resource: sg}]
  port_old:
    type: OS::Neutron::Port
    properties: {network_id: {get_resource: net}, mac_address: "fa:16:3e:00:00:01"}
  trunk_parent: {type: OS::Neutron::Port, properties: {network: {get_resource: net}}}
  trunk:
    type: OS::Neutron::Trunk
    properties:
      port: {get_resource: trunk_parent}
      sub_ports: [{port: {get_resource: port_old}, segmentation_type: vlan, segmentation_id: 10}]
  router:
    type: OS::Neutron::Router
    properties: {external_gateway_info: {network: public}}
  router_if:
    type: OS::Neutron::RouterInterface
    properties: {router: {get_resource: router}, subnet: {get_resource: subnet}}
  fip:
    type: OS::Neutron::FloatingIP
    properties: {floating_network: public}
  fip_assoc:
    type: OS::Neutron::FloatingIPAssociation
    properties: {floatingip_id: {get_resource: fip}, port_id: {get_resource: port}}
  qos:
    type: OS::Neutron::QoSPolicy
  qos_rule:
    type: OS::Neutron::QoSBandwidthLimitRule
    properties: {policy: {get_resource: qos}, max_kbps: 1000}
  flavor:
    type: OS::Nova::Flavor
    properties: {ram: 512, vcpus: 1, disk: 1, extra_specs: {"hw:cpu_policy": dedicated}}
  key:
    type: OS::Nova::KeyPair
    properties: {name: k1}
  group:
    type: OS::Nova::ServerGroup
    properties: {policies: [anti-affinity]}
  volume:
    type: OS::Cinder::Volume
    properties: {size: 1, image: cirros, metadata: {a: b}}
  server:
    type: OS::Nova::Server
    properties:
      flavor: {get_resource: flavor}
      key_name: {get_resource: key}
      networks: [{port: {get_resource: port}}, {network: {get_resource: net}, fixed_ip: 10.10.0.9}]
      block_device_mapping_v2: [{volume_id: {get_resource: volume}, boot_index: 0}]
      scheduler_hints: {group: {get_resource: group}}
      metadata: {role: test}
      user_data: "#!/bin/sh\\necho hi"
      user_data_format: RAW
      config_drive: true
      security_groups: [{get_resource: sg}]
      tags: [a, b]
  attach:
    type: OS::Cinder::VolumeAttachment
    properties: {instance_uuid: {get_resource: server}, volume_id: {get_resource: volume}}
  asg:
    type: OS::Heat::AutoScalingGroup
    properties:
      min_size: 0
      max_size: 2
      desired_capacity: 1
      resource: {type: OS::Heat::None}
  policy:
    type: OS::Heat::ScalingPolicy
    properties:
      auto_scaling_group_id: {get_resource: asg}
      adjustment_type: change_in_capacity
      scaling_adjustment: 1
outputs:
  server_networks: {value: {get_attr: [server, networks]}}
  server_show: {value: {get_attr: [server, show]}}
  port_ip: {value: {get_attr: [port, fixed_ips, 0, ip_address]}}
  port_old_mac: {value: {get_attr: [port_old, mac_address]}}
  port_old_network: {value: {get_attr: [port_old, network_id]}}
  subnet_pools: {value: {get_attr: [subnet, allocation_pools]}}
  subnet_old_cidr: {value: {get_attr: [subnet_old, cidr]}}
  fip: {value: {get_attr: [fip, floating_ip_address]}}
  volume_size: {value: {get_attr: [volume, size]}}
  trunk_port: {value: {get_attr: [trunk, port_id]}}
  trunk_parent: {value: {get_resource: trunk_parent}}
  net_id: {value: {get_resource: net}}
  signal_url: {value: {get_attr: [policy, signal_url]}}
"""


# --- helpers ------------------------------------------------------------------

class Heat:
    """Minimal HTTP client for the v1 API, with bounded waits."""

    def __init__(self, api_url: str) -> None:
        self.url = api_url
        self.http = requests.Session()

    def create(self, name: str, template: str, *, parameters=None, files=None,
               environment=None) -> str:
        env, base_files = sandbox_environment()
        env.update(environment or {})
        body = {"stack_name": name, "template": template,
                "parameters": parameters or {}, "files": dict(base_files, **(files or {})),
                "environment": env, "disable_rollback": True, "timeout_mins": 10}
        r = self.http.post(f"{self.url}/stacks", json=body, timeout=30)
        assert r.status_code == 201, r.text
        return r.json()["stack"]["id"]

    def patch(self, name: str, stack_id: str, **body) -> None:
        r = self.http.patch(f"{self.url}/stacks/{name}/{stack_id}", json=body, timeout=30)
        assert r.status_code == 202, r.text

    def delete(self, name: str, stack_id: str) -> None:
        r = self.http.delete(f"{self.url}/stacks/{name}/{stack_id}", timeout=30)
        assert r.status_code == 204, r.text

    def show(self, stack_id: str) -> dict:
        r = self.http.get(f"{self.url}/stacks/{stack_id}", timeout=30)
        assert r.status_code == 200, r.text
        return r.json()["stack"]

    def resources(self, name: str, stack_id: str, depth: int = 5) -> list[dict]:
        r = self.http.get(f"{self.url}/stacks/{name}/{stack_id}/resources",
                          params={"nested_depth": depth}, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()["resources"]

    def wait(self, stack_id: str, action: str, timeout: float = TIMEOUT) -> tuple[dict, float]:
        """Wait until the stack leaves ``<action>_IN_PROGRESS``; return it and the time taken."""
        began = time.monotonic()
        deadline = began + timeout
        while True:
            stack = self.show(stack_id)
            if stack["stack_status"] != f"{action}_IN_PROGRESS":
                return stack, time.monotonic() - began
            if time.monotonic() > deadline:
                pytest.fail(f"stack still {stack['stack_status']} after {timeout:g} s")
            time.sleep(POLL)

    def settle(self, name: str, stack_id: str, timeout: float = 60.0) -> None:
        """Wait until no resource at any depth is in progress."""
        deadline = time.monotonic() + timeout
        while True:
            busy = [r["resource_name"] for r in self.resources(name, stack_id)
                    if r["resource_status"].endswith("_IN_PROGRESS")]
            if not busy:
                return
            if time.monotonic() > deadline:
                pytest.fail(f"resources still in progress after {timeout:g} s: {busy}")
            time.sleep(POLL)

    def outputs(self, stack: dict) -> dict:
        return {o["output_key"]: o.get("output_value") for o in stack.get("outputs", [])}

    def expect(self, stack_id: str, action: str, status: str = "COMPLETE") -> dict:
        stack, _ = self.wait(stack_id, action)
        assert stack["stack_status"] == f"{action}_{status}", stack["stack_status_reason"]
        return stack

    def delete_and_wait(self, name: str, stack_id: str) -> float:
        self.delete(name, stack_id)
        stack, took = self.wait(stack_id, "DELETE")
        assert stack["stack_status"] == "DELETE_COMPLETE", stack["stack_status_reason"]
        return took


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def heat(heat_service):
    return Heat(heat_service.api_url)


# --- the service --------------------------------------------------------------

def test_service_runs_and_start_is_idempotent(heat_service):
    status = heat_service.status()
    assert status["running"] and status["answering"]
    assert status["version"] == "27.0.1"
    assert status["rss_kb"] > 0
    assert heat_service.endpoint_url.endswith(f":{status['port']}/v1/%(tenant_id)s")
    began = time.monotonic()
    again = heat_service.start()
    assert time.monotonic() - began < 2.0
    assert again["pid"] == status["pid"]
    assert oct(heat_service.state_file.stat().st_mode & 0o777) == "0o600"


# A listener of Heat's in-memory transport waits for 20 messages delivered at
# random moments, and prints how long each waited to be handed over.
_HANDOVER_PROBE = """
import random, runpy, statistics, threading, time
runpy.run_path(LAUNCHER, run_name="probe")["wake_rpc_listeners"]()
import oslo_messaging
from oslo_messaging._drivers import impl_fake
exchange = impl_fake.FakeExchange("probe")
manager = impl_fake.FakeExchangeManager("probe")
manager._exchanges["probe"] = exchange
target = oslo_messaging.Target(topic="t", exchange="probe")
listener = impl_fake.FakeListener(manager, [target])
sent = []
def deliver():
    for i in range(20):
        time.sleep(random.uniform(0.01, 0.06))
        sent.append(time.monotonic())
        exchange.deliver_message("t", {}, {"n": i})
threading.Thread(target=deliver, daemon=True).start()
waits = []
while len(waits) < 20:
    if listener.poll(timeout=5):
        waits.append(time.monotonic() - sent[len(waits)])
print(statistics.median(waits))
"""


def test_the_in_memory_transport_hands_messages_over_at_once(heat_service):
    """oslo.messaging's fake:// listeners look for a message every 50 ms
    (a median wait of about 25 ms per message: every API call to the engine
    and every convergence step paid it); the launcher wakes them on delivery."""
    import subprocess

    from nfvlib.sandbox import heat as sandbox_heat
    from nfvlib.sandbox.venv import venv_python

    launcher = Path(sandbox_heat.__file__).with_name("_heat_launcher.py")
    probe = _HANDOVER_PROBE.replace("LAUNCHER", repr(str(launcher)))
    out = subprocess.run([str(venv_python(heat_service.install())), "-c", probe],
                         capture_output=True, text=True, timeout=60, check=True)
    assert float(out.stdout.split()[-1]) < 0.005, out.stdout


def test_plain_stack_creates(heat):
    template = """\
heat_template_version: 2018-08-31
resources:
  a: {type: OS::Heat::TestResource, properties: {value: hello}}
  b: {type: OS::Heat::None}
outputs:
  out: {value: {get_attr: [a, output]}}
"""
    name = unique("plain")
    stack_id = heat.create(name, template)
    stack = heat.expect(stack_id, "CREATE")
    assert heat.outputs(stack)["out"] == "hello"
    heat.delete_and_wait(name, stack_id)


# --- a VNF made of real types -------------------------------------------------

def test_vnf_of_real_types_scales_out_and_in(heat):
    name = unique("vnf")
    stack_id = heat.create(name, GROUP_TEMPLATE, parameters={"count": 1},
                           files={"vdu.yaml": VDU_TEMPLATE})
    stack = heat.expect(stack_id, "CREATE")
    types = {r["resource_type"] for r in heat.resources(name, stack_id, depth=2)}
    assert {"OS::Nova::Server", "OS::Neutron::Port", "OS::Neutron::Net",
            "OS::Neutron::Subnet"} <= types

    for count in (3, 1):
        heat.patch(name, stack_id, parameters={"count": count})
        stack = heat.expect(stack_id, "UPDATE")
        out = heat.outputs(stack)
        assert len(out["server_ids"]) == count
        # Server and port agree on the address; it is a real IPv4 address.
        assert out["server_ips"] == out["port_ips"]
        for ip in out["port_ips"]:
            ipaddress.IPv4Address(ip)
        for mac in out["macs"]:
            assert re.fullmatch(r"fa:16:3e(:[0-9a-f]{2}){3}", mac)
        for server_id in out["server_ids"]:
            uuid.UUID(server_id)
        addresses = out["addresses"][0]
        assert addresses and all(a["version"] == 4 for nets in addresses.values() for a in nets)
        assert out["gateway"] == "192.168.10.1"
        heat.settle(name, stack_id)

    heat.delete_and_wait(name, stack_id)


def test_injected_member_failure_then_clear(heat):
    name = unique("inject")
    stack_id = heat.create(name, GROUP_TEMPLATE, parameters={"count": 3},
                           files={"vdu.yaml": VDU_TEMPLATE})
    heat.expect(stack_id, "CREATE")

    environment, files = injection_environment("vdu_group", "2", "fail")
    heat.patch(name, stack_id, environment=environment, files=files)
    stack = heat.expect(stack_id, "UPDATE", "FAILED")
    reason = stack["stack_status_reason"]
    assert "vdu_group.resources[2]" in reason, reason
    assert "injected_failure" in reason, reason
    assert "resources[0]" not in reason and "resources[1]" not in reason, reason
    heat.settle(name, stack_id)

    # Members 0 and 1 are untouched.
    rows = heat.resources(name, stack_id, depth=1)
    members = {r["resource_name"]: r["resource_status"] for r in rows
               if r.get("parent_resource") == "vdu_group"}
    assert members["0"].endswith("_COMPLETE") and members["1"].endswith("_COMPLETE")
    assert members["2"].endswith("_FAILED")

    environment, files = injection_environment("vdu_group", "2", "clear")
    heat.patch(name, stack_id, environment=environment, files=files)
    heat.expect(stack_id, "UPDATE")
    heat.settle(name, stack_id)
    # The next update (a scale-in) also completes.
    heat.patch(name, stack_id, parameters={"count": 2})
    stack = heat.expect(stack_id, "UPDATE")
    assert len(heat.outputs(stack)["server_ids"]) == 2
    heat.delete_and_wait(name, stack_id)


def test_slow_member_when_members_are_servers(heat):
    name = unique("slow")
    stack_id = heat.create(name, SERVER_GROUP_TEMPLATE, parameters={"count": 2})
    stack = heat.expect(stack_id, "CREATE")
    assert heat.outputs(stack)["names"] == ["srv-0", "srv-1"]

    environment, files = injection_environment("servers", "1", "slow", delay=3)
    heat.patch(name, stack_id, environment=environment, files=files)
    _, took = heat.wait(stack_id, "UPDATE")
    assert heat.show(stack_id)["stack_status"] == "UPDATE_COMPLETE"
    assert took >= 3.0

    environment, files = injection_environment("servers", "1", "fail")
    heat.patch(name, stack_id, environment=environment, files=files)
    stack = heat.expect(stack_id, "UPDATE", "FAILED")
    assert "servers.resources[1]" in stack["stack_status_reason"]
    heat.settle(name, stack_id)
    environment, files = injection_environment("servers", "1", "clear")
    heat.patch(name, stack_id, environment=environment, files=files)
    heat.expect(stack_id, "UPDATE")
    heat.delete_and_wait(name, stack_id)


def test_every_mapped_type_creates_with_plausible_attributes(heat):
    name = unique("types")
    stack_id = heat.create(name, ALL_TYPES_TEMPLATE)
    stack = heat.expect(stack_id, "CREATE")
    out = heat.outputs(stack)
    assert not [o for o in stack["outputs"] if o.get("output_error")]
    assert out["port_ip"] == "10.10.0.5"
    assert out["server_networks"][out["net_id"]] == ["10.10.0.9"]
    assert out["server_show"]["status"] == "ACTIVE"
    assert out["port_old_mac"] == "fa:16:3e:00:00:01"
    assert out["port_old_network"] == out["net_id"]
    assert out["subnet_pools"] == [{"start": "10.10.0.10", "end": "10.10.0.20"}]
    assert ipaddress.IPv4Network(out["subnet_old_cidr"]).prefixlen == 24
    ipaddress.IPv4Address(out["fip"])
    assert out["volume_size"] == "1"
    assert out["trunk_port"] == out["trunk_parent"]
    assert out["signal_url"].startswith("http://")
    heat.delete_and_wait(name, stack_id)


# --- a real Tacker package, unchanged -----------------------------------------

def tacker_nfv(desired_capacity: int) -> dict:
    """The ``nfv`` parameter as Tacker v2 fills it for this package's BaseHOT."""
    image = "cirros-0.5.2-x86_64-disk"
    return {
        "VDU": {
            "VDU1": {"desired_capacity": desired_capacity,
                     "computeFlavourId": "m1.tiny", "vcImageId": image},
            "VDU2": {"computeFlavourId": "m1.tiny", "vcImageId": image},
        },
        "CP": {"VDU1_CP1": {}, "VDU2_CP1": {}},
    }


def test_tacker_sample_package_creates_scales_and_deletes(heat, record_property):
    base = SAMPLE / "BaseHOT" / "simple"
    name = unique("tacker")
    stack_id = heat.create(name, (base / "sample2.yaml").read_text(),
                           parameters={"nfv": tacker_nfv(1)},
                           files={"VDU1.yaml": (base / "nested" / "VDU1.yaml").read_text()})
    stack, took = heat.wait(stack_id, "CREATE")
    assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
    record_property("create_s", round(took, 2))

    def servers():
        rows = heat.resources(name, stack_id, depth=2)
        return sorted(r["resource_name"] for r in rows
                      if r["resource_type"] == "OS::Nova::Server")

    assert servers() == ["VDU1", "VDU2"]

    heat.patch(name, stack_id, parameters={"nfv": tacker_nfv(3)})
    stack, took = heat.wait(stack_id, "UPDATE")
    assert stack["stack_status"] == "UPDATE_COMPLETE", stack["stack_status_reason"]
    record_property("scale_out_s", round(took, 2))
    assert servers() == ["VDU1", "VDU1", "VDU1", "VDU2"]
    heat.settle(name, stack_id)

    record_property("delete_s", round(heat.delete_and_wait(name, stack_id), 2))
