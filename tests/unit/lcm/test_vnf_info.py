"""VNF instance information: metadata, extensions and configurable properties
(create and VnfInfoModificationRequest), the MODIFY_INFO occurrence of an
update, VnfIdentifierCreation/DeletionNotification, and create-and-instantiate
refusing a bad request before anything exists.

A real store, the stateful fake Heat of test_plans.py and the real HTTP
receiver of test_notify.py.
"""

from __future__ import annotations

import pytest

from nfvlib import sol003
from nfvlib.exceptions import InvalidInput, Unsupported
from nfvlib.store.lcm import VnfTable
from tests.unit.lcm.test_notify import Receiver, _request, receiver, subs  # noqa: F401
from tests.unit.lcm.test_plans import LEVEL_1, world  # noqa: F401

CREATED = "VnfIdentifierCreationNotification"
DELETED = "VnfIdentifierDeletionNotification"
V3 = "ETSINFV.OPENSTACK_KEYSTONE.V_3"


# -- metadata, extensions, vnfConfigurableProperties -----------------------------------
def test_update_merge_patches_metadata_extensions_and_configurable_properties(
        world):  # noqa: F811
    vnf = world.vnfs.create_vnf(world.vnfd_id, metadata={
        "team": "core", "tags": {"a": 1, "b": 2}})
    assert world.vnfs.get_vnf(vnf.id).metadata == {"team": "core", "tags": {"a": 1, "b": 2}}

    updated = world.vnfs.update_vnf(vnf.id, {
        "metadata": {"tags": {"a": None, "c": [3]}, "site": "tokyo"},
        "extensions": {"ext": {"x": 1}},
        "vnfConfigurableProperties": {"isAutoscaleEnabled": True}})

    expected = {"team": "core", "tags": {"b": 2, "c": [3]}, "site": "tokyo"}
    for got in (updated, world.vnfs.get_vnf(vnf.id)):
        assert got.metadata == expected
        assert got.extensions == {"ext": {"x": 1}}
        assert got.vnf_configurable_properties == {"isAutoscaleEnabled": True}
    record = sol003.vnf_instance(world.vnfs.get_vnf(vnf.id))
    assert record["metadata"] == expected
    assert record["extensions"] == {"ext": {"x": 1}}
    assert record["vnfConfigurableProperties"] == {"isAutoscaleEnabled": True}

    again = world.vnfs.update_vnf(vnf.id, {"metadata": {"team": None, "tags": None,
                                                        "site": None},
                                           "extensions": {"ext": None}})
    assert again.metadata == {} and again.extensions == {}
    record = sol003.vnf_instance(again)
    # left out when empty, as Tacker leaves them out
    assert "metadata" not in record and "extensions" not in record
    assert record["vnfConfigurableProperties"] == {"isAutoscaleEnabled": True}


def test_metadata_is_kept_beside_what_local_mode_shows_of_its_own(world):  # noqa: F811
    vnf = world.instantiated()
    world.vnfs.update_vnf(vnf.id, {"metadata": {"stack_id": "mine", "owner": "ops"}})
    record = sol003.vnf_instance(world.vnfs.get_vnf(vnf.id))
    assert record["metadata"] == {"stack_id": "mine", "owner": "ops"}
    # nfvkit's own keys stay in instantiatedVnfInfo.metadata, untouched
    own = record["instantiatedVnfInfo"]["metadata"]
    assert own["stack_id"] == world.vnfs.get_vnf(vnf.id).stack_id != "mine"


def test_instances_filter_by_metadata_extensions_and_configurable_properties(
        world):  # noqa: F811
    web = world.vnfs.create_vnf(world.vnfd_id, metadata={"tier": "web"})
    db = world.vnfs.create_vnf(world.vnfd_id, metadata={"tier": "db"})
    world.vnfs.update_vnf(db.id, {"extensions": {"backup": "daily"},
                                  "vnfConfigurableProperties": {"isAutohealEnabled": True}})
    assert [v.id for v in world.vnfs.list_vnfs("(eq,metadata/tier,web)")] == [web.id]
    assert [v.id for v in world.vnfs.list_vnfs("(eq,extensions/backup,daily)")] == [db.id]
    assert [v.id for v in world.vnfs.list_vnfs(
        "(eq,vnfConfigurableProperties/isAutohealEnabled,true)")] == [db.id]
    assert [v.id for v in world.vnfs.page_vnfs("(neq,metadata/tier,web)").items] == [db.id]


@pytest.mark.parametrize("request_body, error, words", [
    ({"metadata": None}, InvalidInput, "metadata must be a JSON object (a merge patch)"),
    ({"extensions": [1]}, InvalidInput, "extensions must be a JSON object"),
    ({"vnfConfigurableProperties": "x"}, InvalidInput, "vnfConfigurableProperties must"),
    ({"metadata": {"x": float("nan")}}, InvalidInput, "not a JSON number"),
    ({"vnfInstanceName": "a\nb", "metadata": {"x": 1}}, InvalidInput, "vnfInstanceName"),
    ({"vnfcInfoModifications": [], "metadata": {"x": 1}}, Unsupported,
     "cannot update vnfcInfoModifications"),
    ({"vimConnectionInfo": {"default": {"vimId": "site", "vimType": V3}},
      "metadata": {"x": 1}}, Unsupported, "has no VIM connection to update"),
])
def test_a_refused_update_changes_nothing(world, request_body, error, words):  # noqa: F811
    vnf = world.vnfs.create_vnf(world.vnfd_id, metadata={"keep": True})
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        world.vnfs.update_vnf(vnf.id, request_body)
    assert world.vnfs.get_vnf(vnf.id).metadata == {"keep": True}
    assert world.lcm.list_op_occs() == []


def test_create_refuses_metadata_that_is_not_an_object(world):  # noqa: F811
    with pytest.raises(InvalidInput, match="create request: metadata must be a JSON"):
        world.vnfs.create_vnf(world.vnfd_id, metadata=["x"])
    assert world.vnfs.list_vnfs() == []


def test_vim_connection_info_naming_the_instances_vim_is_accepted(world):  # noqa: F811
    vnf = world.instantiated()
    vim = world.services.vims.find_vim("site")
    for vim_id in (vim.id, "site"):  # by id or by name, as instantiate takes it
        updated = world.vnfs.update_vnf(vnf.id, {"vimConnectionInfo": {
            "default": {"vimId": vim_id, "vimType": V3}}})
        assert updated.vim_id == vim.id
    assert world.vnfs.get_vnf(vnf.id).vim_id == vim.id


@pytest.mark.parametrize("patch, words", [
    ({"default": {"vimId": "elsewhere", "vimType": V3}}, "cannot move VNF instance"),
    ({"second": {"vimId": "site", "vimType": V3}}, "cannot add, remove or replace"),
    ({"default": None}, "cannot add, remove or replace"),
    ({"default": {"vimId": "site", "accessInfo": {"region": "RegionTwo"}}},
     "to region 'RegionTwo'"),
    ({"default": {"vimId": "site", "accessInfo": {"password": "x"}}},
     "cannot update vimConnectionInfo.default.accessInfo.password"),
    ({"default": {"vimId": "site", "interfaceInfo": {"endpoint": "http://x"}}},
     "cannot update vimConnectionInfo.default.interfaceInfo"),
    ({"default": {"vimId": "site", "vimType": "kubernetes"}}, "vimType 'kubernetes'"),
])
def test_vim_connection_info_that_changes_the_connection_is_unsupported(
        world, patch, words):  # noqa: F811
    vnf = world.instantiated()
    with pytest.raises(Unsupported, match=words) as caught:
        world.vnfs.update_vnf(vnf.id, {"vimConnectionInfo": patch,
                                       "vnfInstanceName": "renamed"})
    assert "vim set" in (caught.value.hint or "")
    assert world.vnfs.get_vnf(vnf.id).name == vnf.name


# -- the MODIFY_INFO occurrence and its notifications ----------------------------------
def test_an_update_is_a_completed_modify_info_occurrence_and_is_notified(
        subs, receiver, world):  # noqa: F811
    vnf = world.vnfs.create_vnf(world.vnfd_id)
    sub = subs.create_subscription(_request(receiver.url, filter={
        "notificationTypes": ["VnfLcmOperationOccurrenceNotification"]}))
    request = {"vnfInstanceName": "renamed", "metadata": {"a": 1}}
    world.vnfs.update_vnf(vnf.id, request)
    subs.deliver()

    (op,) = world.lcm.list_op_occs(filter="(eq,operation,MODIFY_INFO)")
    assert op.state.value == "COMPLETED" and op.vnf_instance_id == vnf.id
    assert op.request == request and op.steps == ()
    got = receiver.wait_for(2)
    assert receiver.states() == [("PROCESSING", "START"), ("COMPLETED", "RESULT")]
    assert {b["operation"] for b in got} == {"MODIFY_INFO"}
    assert {b["vnfLcmOpOccId"] for b in got} == {op.id}
    assert {b["subscriptionId"] for b in got} == {sub.id}
    # an occurrence that ended leaves the instance free for the next operation
    assert world.lcm.instantiate(vnf.id, LEVEL_1).operation.value == "INSTANTIATE"


# -- VnfIdentifierCreationNotification / VnfIdentifierDeletionNotification ---------------
def test_creating_and_deleting_an_instance_notify_its_identifier(
        subs, receiver, world):  # noqa: F811
    sub = subs.create_subscription(_request(receiver.url))
    vnf = world.vnfs.create_vnf(world.vnfd_id, name="v1")
    subs.deliver()
    world.vnfs.delete_vnf(vnf.id)
    subs.deliver()

    created, deleted = receiver.wait_for(2)
    for body, kind in ((created, CREATED), (deleted, DELETED)):
        assert set(body) == {"id", "notificationType", "subscriptionId", "timeStamp",
                             "vnfInstanceId", "_links"}
        assert body["notificationType"] == kind
        assert body["subscriptionId"] == sub.id and body["vnfInstanceId"] == vnf.id
        assert body["timeStamp"].endswith("+00:00")
        assert body["_links"] == {
            "vnfInstance": {"href": f"/vnflcm/v2/vnf_instances/{vnf.id}"},
            "subscription": {"href": f"/vnflcm/v2/subscriptions/{sub.id}"}}
    assert created["id"] != deleted["id"]
    deliveries = subs.list_deliveries(sub.id)
    assert [(d.notification_type, d.status) for d in deliveries] == [
        (CREATED, "DELIVERED"), (DELETED, "DELIVERED")]


def test_identifier_notifications_honour_the_subscription_filter(
        subs, receiver, world):  # noqa: F811
    other = Receiver()
    try:
        deletions = subs.create_subscription({"callbackUri": other.url, "filter": {
            "notificationTypes": [DELETED],
            "vnfInstanceSubscriptionFilter": {"vnfInstanceNames": ["db"]}}})
        by_vnfd = subs.create_subscription(_request(receiver.url, filter={
            "notificationTypes": [CREATED, "VnfLcmOperationOccurrenceNotification"],
            "vnfInstanceSubscriptionFilter": {"vnfdIds": [world.vnfd_id]}}))
        subs.create_subscription(_request(receiver.url.replace("/callback", "/none"),
                                          filter={"vnfInstanceSubscriptionFilter": {
                                              "vnfdIds": ["another-vnfd"]}}))
        web = world.vnfs.create_vnf(world.vnfd_id, name="web")
        db = world.vnfs.create_vnf(world.vnfd_id, name="db")
        world.vnfs.delete_vnf(web.id)
        world.vnfs.delete_vnf(db.id)
        subs.deliver()

        assert [(b["notificationType"], b["vnfInstanceId"]) for b in other.received] == [
            (DELETED, db.id)]
        assert [(b["notificationType"], b["vnfInstanceId"], b["subscriptionId"])
                for b in receiver.received] == [(CREATED, web.id, by_vnfd.id),
                                                (CREATED, db.id, by_vnfd.id)]
        assert [d.subscription_id for d in subs.list_deliveries()].count(deletions.id) == 1
    finally:
        other.stop()


def test_operation_types_and_states_filter_occurrence_notifications_only(
        subs, receiver, world):  # noqa: F811
    """As SOL003 and Tacker v2: they select among VnfLcmOperationOccurrenceNotifications."""
    sub = subs.create_subscription(_request(receiver.url, filter={
        "operationTypes": ["SCALE"], "operationStates": ["COMPLETED"]}))
    vnf = world.vnfs.create_vnf(world.vnfd_id)
    world.vnfs.update_vnf(vnf.id, {"vnfInstanceName": "renamed"})  # MODIFY_INFO
    world.vnfs.delete_vnf(vnf.id)
    subs.deliver()
    assert [(b["notificationType"], b["subscriptionId"]) for b in receiver.received] == [
        (CREATED, sub.id), (DELETED, sub.id)]


def test_a_refused_delete_notifies_nothing(subs, receiver, world):  # noqa: F811
    vnf = world.instantiated()
    subs.create_subscription(_request(receiver.url, filter={
        "notificationTypes": [DELETED]}))
    with pytest.raises(Exception, match="INSTANTIATED"):
        world.vnfs.delete_vnf(vnf.id)
    assert subs.list_deliveries() == []


# -- create and instantiate: checked before anything exists -----------------------------
@pytest.mark.parametrize("request_body, words", [
    ({"flavourId": "simple", "vimConnectionInfo": {
        "v": {"vimId": "nowhere", "vimType": V3}}}, "no VIM has the id or name 'nowhere'"),
    ({"flavourId": "complex"}, "flavourId 'complex' is not a flavour"),
    ({"flavourId": "simple", "instantiationLevelId": "level_9"}, "level_9"),
    ({"flavourId": "simple", "colour": "red"}, "unknown field(s) 'colour'"),
])
def test_create_and_instantiate_refuses_before_creating_anything(
        subs, receiver, world, monkeypatch, request_body, words):  # noqa: F811
    subs.create_subscription(_request(receiver.url))
    inserted = []
    real_insert = VnfTable.insert
    monkeypatch.setattr(VnfTable, "insert", lambda self, conn, vnf: (
        inserted.append(vnf), real_insert(self, conn, vnf)))
    with pytest.raises(InvalidInput, match=words.replace("(", r"\(").replace(")", r"\)")):
        world.lcm.create_and_instantiate(world.vnfd_id, request_body, name="x")
    assert inserted == [] and world.vnfs.list_vnfs() == []
    assert subs.list_deliveries() == []


def test_create_and_instantiate_refuses_a_bad_policy_or_metadata_first(world):  # noqa: F811
    with pytest.raises(InvalidInput):
        world.lcm.create_and_instantiate(world.vnfd_id, LEVEL_1, on_failure="sometimes")
    with pytest.raises(InvalidInput, match="metadata"):
        world.lcm.create_and_instantiate(world.vnfd_id, LEVEL_1, metadata="x")
    assert world.vnfs.list_vnfs() == []


def test_create_and_instantiate_creates_and_starts_the_instantiate(
        subs, receiver, world):  # noqa: F811
    subs.create_subscription(_request(receiver.url, filter={
        "notificationTypes": [CREATED]}))
    vnf, op = world.lcm.create_and_instantiate(world.vnfd_id, LEVEL_1, name="web",
                                               metadata={"tier": "web"})
    assert op.vnf_instance_id == vnf.id and op.operation.value == "INSTANTIATE"
    assert world.vnfs.get_vnf(vnf.id).metadata == {"tier": "web"}
    assert world.done(op).state.value == "COMPLETED"
    subs.deliver()
    assert [b["vnfInstanceId"] for b in receiver.wait_for(1)] == [vnf.id]


def test_a_clients_create_starts_a_deliverer_for_its_notification(
        subs, receiver, world):  # noqa: F811
    import nfvlib

    sub = subs.create_subscription(_request(receiver.url))
    client = nfvlib.Client()
    try:  # no worker follows a create: a detached python -m nfvlib.lcm.notify sends it
        vnf = client.vnfs.create_vnf(world.vnfd_id)
        (body,) = receiver.wait_for(1, timeout=20)
    finally:
        client.close()
    assert (body["notificationType"], body["vnfInstanceId"]) == (CREATED, vnf.id)
    assert body["subscriptionId"] == sub.id
