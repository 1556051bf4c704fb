"""VNFCs from Heat's resource rows, scale-in victims and what to mark unhealthy.

``data/sample_resources.json`` is the answer of a real Heat (27.0.1, the
one-process sandbox Heat with Nova/Neutron types mapped to provider
templates) to ``GET /v1/admin/stacks/{name}/{id}/resources?nested_depth=3``
for the Tacker sample package (basic_lcms_min) instantiated at
instantiation_level_1 and scaled out twice, one step at a time, with the
``nfv`` parameter from :mod:`nfvlib.lcm.heat_params`. Only the host of the
links was replaced.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from nfvlib.exceptions import InvalidInput
from nfvlib.lcm.vnfc import (mark_unhealthy_body, mark_unhealthy_targets, scale_in_victims,
                             vnfcs_from_resources)
from nfvlib.models import VnfcInfo

DATA = Path(__file__).resolve().parent / "data" / "sample_resources.json"

TOP = "vnf-690d46e3-5bdb-4c7e-b094-cc301d896955/ce713a71-86d1-43bc-b42e-3f4129ea26bd"
GROUP = ("vnf-690d46e3-5bdb-4c7e-b094-cc301d896955-VDU1_scale_group-ybifcdiinmqq/"
         "790a5d84-fba6-4a6c-a996-fc2f1bf2c42e")
#: Members of VDU1_scale_group, newest first (created 01:09:14, :08, :02).
MEMBERS = ["2hknmm4rdrfj", "j7avnyhpnec3", "6wkt7u46teft"]
VDUS = {"VDU1", "VDU2"}


@pytest.fixture(scope="module")
def rows():
    return json.loads(DATA.read_text())["resources"]


@pytest.fixture(scope="module")
def vnfcs(rows):
    return vnfcs_from_resources(rows, VDUS)


def link(rel, ref):
    return {"rel": rel, "href": f"http://heat.test:8004/v1/admin/stacks/{ref}"}


def row(name, rtype, stack, nested=None, parent=None, created="2024-01-01T00:00:00Z",
        physical=None):
    """A resource row shaped as Heat's resource list returns it."""
    links = [{"rel": "self", "href": f"http://heat.test:8004/v1/admin/stacks/{stack}"
                                     f"/resources/{name}"}, link("stack", stack)]
    if nested:
        links.append(link("nested", nested))
    found = {"resource_name": name, "logical_resource_id": name, "resource_type": rtype,
             "physical_resource_id": physical or (nested or "x/" + name).split("/")[-1],
             "resource_status": "CREATE_COMPLETE", "resource_status_reason": "",
             "creation_time": created, "updated_time": None, "required_by": [],
             "links": links}
    if parent:
        found["parent_resource"] = parent
    return found


# -- the real rows ---------------------------------------------------------------

def test_fixture_has_no_machine_specific_hosts_or_paths():
    text = DATA.read_text()
    assert "127.0.0.1" not in text and "localhost" not in text
    assert "/tmp/" not in text and "/root" not in text and "/home/" not in text


def test_vnfcs_of_the_sample_stack(vnfcs, rows):
    assert [(v.vdu_id, v.member) for v in vnfcs] == [("VDU1", m) for m in MEMBERS] + [
        ("VDU2", None)]
    servers = {r["physical_resource_id"]: r for r in rows
               if r["resource_name"] in VDUS and r["resource_type"] == "OS::Nova::Server"}
    assert {v.id for v in vnfcs} == set(servers)
    for vnfc in vnfcs:
        assert vnfc.resource_name == vnfc.vdu_id
        assert vnfc.resource_type == "OS::Nova::Server"
        assert vnfc.status == servers[vnfc.id]["resource_status"]


def test_asg_member_points_at_the_group_nested_stack(vnfcs, rows):
    group = next(r for r in rows if r["resource_name"] == "VDU1_scale_group")
    nested = next(x["href"] for x in group["links"] if x["rel"] == "nested")
    assert nested.endswith("/stacks/" + GROUP)
    for vnfc in vnfcs[:3]:
        assert vnfc.parent_stack == GROUP
        member = next(r for r in rows if r["resource_name"] == vnfc.member)
        assert member["parent_resource"] == "VDU1_scale_group"
        assert member["resource_type"] == "VDU1.yaml"


def test_server_outside_a_group_points_at_its_own_stack(vnfcs):
    vdu2 = vnfcs[-1]
    assert (vdu2.vdu_id, vdu2.member, vdu2.parent_stack) == ("VDU2", None, TOP)


def test_stand_in_resources_are_not_vnfcs(rows):
    names = {r["resource_name"] for r in rows}
    assert {"sandbox_vm", "sandbox_info", "VDU1_CP1"} <= names
    assert vnfcs_from_resources(rows, {"VDU1"}) == [
        v for v in vnfcs_from_resources(rows, VDUS) if v.vdu_id == "VDU1"]
    assert vnfcs_from_resources(rows, set()) == []


def test_row_order_does_not_matter(rows, vnfcs):
    shuffled = list(rows)
    random.Random(7).shuffle(shuffled)
    assert vnfcs_from_resources(shuffled, VDUS) == vnfcs


# -- scale-in victims --------------------------------------------------------------

def test_scale_in_takes_the_newest_members(vnfcs):
    assert [v.member for v in scale_in_victims(vnfcs, {"VDU1"}, {"VDU1": 1})] == MEMBERS[:1]
    assert [v.member for v in scale_in_victims(vnfcs, {"VDU1"}, {"VDU1": 2})] == MEMBERS[:2]
    assert scale_in_victims(vnfcs, {"VDU1"}, {"VDU1": 0}) == []
    assert scale_in_victims(vnfcs, {"VDU1"}, {}) == []


@pytest.mark.parametrize("names, counts, words", [
    ({"VDU1"}, {"VDU1": 4}, ["4", "VDU1", "has 3"]),
    ({"VDU1"}, {"VDU1": -1}, ["VDU1", "-1"]),
    ({"VDU1"}, {"VDU2": 1}, ["VDU2", "VDU1"]),
    ({"VDU2"}, {"VDU2": 1}, ["VDU2", "OS::Heat::AutoScalingGroup"]),
])
def test_scale_in_victims_errors(vnfcs, names, counts, words):
    with pytest.raises(InvalidInput) as exc:
        scale_in_victims(vnfcs, names, counts)
    text = str(exc.value)
    assert "\n" not in text
    for word in words:
        assert word in text


# -- mark unhealthy ----------------------------------------------------------------

def test_mark_unhealthy_targets_asg_member(vnfcs):
    name, stack_id = GROUP.split("/")
    assert mark_unhealthy_targets(vnfcs[0]) == (name, stack_id, MEMBERS[0])


def test_mark_unhealthy_targets_plain_server(vnfcs):
    name, stack_id = TOP.split("/")
    assert mark_unhealthy_targets(vnfcs[-1]) == (name, stack_id, "VDU2")


def test_mark_unhealthy_targets_needs_a_stack():
    vnfc = VnfcInfo(id="s1", vdu_id="VDU1", resource_name="VDU1",
                    resource_type="OS::Nova::Server", status="CREATE_COMPLETE")
    with pytest.raises(InvalidInput, match="VDU1"):
        mark_unhealthy_targets(vnfc)


def test_mark_unhealthy_body():
    assert mark_unhealthy_body("scale-in") == {"mark_unhealthy": True,
                                               "resource_status_reason": "scale-in"}
    assert mark_unhealthy_body()["mark_unhealthy"] is True


# -- other template shapes (rows built as Heat builds them) ----------------------------

def test_group_named_like_the_vdu_and_wrapping_template():
    top, group, member, inner = "vnf-1/t1", "vnf-1-VDU1-g/g1", "vnf-1-VDU1-g-m1/m1", \
        "vnf-1-VDU1-g-m1-VDU1/w1"
    rows = [
        row("VDU1", "OS::Heat::AutoScalingGroup", top, nested=group),
        row("m1", "VDU1.yaml", group, nested=member, parent="VDU1",
            created="2024-01-01T00:00:05Z"),
        # a template resource named like the VDU, wrapping the real server
        row("VDU1", "server_wrapper.yaml", member, nested=inner, parent="m1"),
        row("VDU1", "OS::Nova::Server", inner, parent="VDU1", physical="srv-1"),
    ]
    vnfcs = vnfcs_from_resources(rows, {"VDU1"})
    assert [(v.id, v.member, v.parent_stack) for v in vnfcs] == [("srv-1", "m1", group)]


def test_server_deeper_in_a_member_template_and_ordering_ties():
    top, group = "vnf-2/t2", "vnf-2-grp/g2"
    rows = [row("grp", "OS::Heat::AutoScalingGroup", top, nested=group)]
    for name, created in (("a1", "2024-01-01T00:00:01Z"), ("b2", "2024-01-01T00:00:09Z"),
                          ("c3", "2024-01-01T00:00:09Z")):
        member, sub = f"vnf-2-grp-{name}/{name}", f"vnf-2-grp-{name}-sub/s{name}"
        rows += [row(name, "member.yaml", group, nested=member, parent="grp",
                     created=created),
                 row("sub", "sub.yaml", member, nested=sub, parent=name),
                 row("VDU1", "OS::Nova::Server", sub, parent="sub", physical=f"srv-{name}",
                     created=created)]
    vnfcs = vnfcs_from_resources(rows, {"VDU1"})
    # newest first; the same creation second is ordered by member name, descending
    assert [v.member for v in vnfcs] == ["c3", "b2", "a1"]
    assert {v.parent_stack for v in vnfcs} == {group}
    assert [v.member for v in scale_in_victims(vnfcs, {"VDU1"}, {"VDU1": 2})] == ["c3", "b2"]


def test_resource_group_member_is_not_a_scaling_member():
    top, group, member = "vnf-3/t3", "vnf-3-rg/r3", "vnf-3-rg-0/m0"
    rows = [row("VDU1_group", "OS::Heat::ResourceGroup", top, nested=group),
            row("0", "VDU1.yaml", group, nested=member, parent="VDU1_group"),
            row("VDU1", "OS::Nova::Server", member, parent="0", physical="srv-0")]
    [vnfc] = vnfcs_from_resources(rows, {"VDU1"})
    assert (vnfc.member, vnfc.parent_stack) == (None, member)
    assert mark_unhealthy_targets(vnfc) == ("vnf-3-rg-0", "m0", "VDU1")
    with pytest.raises(InvalidInput, match="AutoScalingGroup"):
        scale_in_victims([vnfc], {"VDU1"}, {"VDU1": 1})


def test_rows_without_links_fall_back_to_unique_parent_names():
    rows = [
        {"resource_name": "grp", "resource_type": "OS::Heat::AutoScalingGroup",
         "physical_resource_id": "g"},
        {"resource_name": "m1", "resource_type": "VDU1.yaml", "physical_resource_id": "m",
         "parent_resource": "grp"},
        {"resource_name": "VDU1", "resource_type": "OS::Nova::Server",
         "physical_resource_id": "srv", "parent_resource": "m1",
         "resource_status": "CREATE_COMPLETE"},
    ]
    [vnfc] = vnfcs_from_resources(rows, {"VDU1"})
    assert (vnfc.id, vnfc.member, vnfc.parent_stack) == ("srv", "m1", None)
    with pytest.raises(InvalidInput):
        mark_unhealthy_targets(vnfc)


# -- connection points: the ports next to each server, on the networks named ------
CPS = {"VDU1": [("VDU1_CP1", "internalVL3")], "VDU2": [("VDU2_CP1", "internalVL3")]}


def _ref(row, rel):
    [href] = [x["href"] for x in row["links"] if x["rel"] == rel]
    return "/".join(href.split("/")[-2:])


def test_each_vnfc_has_the_port_of_its_own_stack_on_the_named_network(rows):
    found = vnfcs_from_resources(rows, VDUS, CPS)
    [network] = [r for r in rows if r["resource_name"] == "internalVL3"]
    ports = {_ref(r, "stack"): r for r in rows if r["resource_name"] in ("VDU1_CP1",
                                                                          "VDU2_CP1")}
    assert len(found) == 4 and len(ports) == 4
    for vnfc in found:
        [server] = [r for r in rows if r["physical_resource_id"] == vnfc.id]
        (cp,) = vnfc.cps
        port = ports[_ref(server, "stack")]  # the port beside the server
        assert (cp.cpd_id, cp.port_id, cp.port_type) == (
            f"{vnfc.vdu_id}_CP1", port["physical_resource_id"], "OS::Neutron::Port")
        # the network sits in the top stack, above each member's stack
        assert (cp.virtual_link, cp.network_id, cp.network_type) == (
            "internalVL3", network["physical_resource_id"], "OS::Neutron::Net")
        assert vnfc.stack == _ref(server, "stack")
        assert vnfc.created_at == server["creation_time"]
    assert len({cp.port_id for vnfc in found for cp in vnfc.cps}) == 4


def test_a_connection_point_without_a_port_or_network_keeps_what_is_known(rows):
    found = vnfcs_from_resources(rows, VDUS, {"VDU1": [("VDU1_CP9", "internalVL3"),
                                                       ("VDU1_CP1", "nowhere")],
                                              "VDU2": [("VDU2_CP1", None)]})
    for vnfc in found:
        if vnfc.vdu_id == "VDU1":
            missing, unlinked = vnfc.cps
            assert (missing.cpd_id, missing.port_id, missing.network_id) == (
                "VDU1_CP9", None, None)
            assert missing.virtual_link == "internalVL3"
            assert unlinked.port_id is not None and unlinked.network_id is None
        else:
            (external,) = vnfc.cps
            assert external.port_id is not None
            assert (external.virtual_link, external.network_id) == (None, None)


def test_vnfcs_read_back_from_json_are_equal(rows):
    import dataclasses

    for vnfc in vnfcs_from_resources(rows, VDUS, CPS):
        again = VnfcInfo(**json.loads(json.dumps(dataclasses.asdict(vnfc))))
        assert again == vnfc and isinstance(again.cps, tuple)
