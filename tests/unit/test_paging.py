"""SOL013 paging of listings in both modes: local keyset pages, Tacker's
``nextpage_opaque_marker`` over requests-mock."""

from __future__ import annotations

import uuid

import pytest
from keystoneauth1 import session as ks_session

import nfvlib
from nfvlib import paging
from nfvlib.exceptions import InvalidInput
from nfvlib.models import Operation, OpOccRecord, OpState, Page
from nfvlib.remote.http import TackerApi
from nfvlib.remote.lcm import RemoteLcm, RemoteVnfs
from nfvlib.store.lcm import OpOccTable

TACKER = "http://tacker.test:9890"
FAILED = "(eq,operationState,FAILED_TEMP)"


def test_page_keeps_filtered_items_and_marks_only_a_page_with_a_follower():
    rows = [(f"t{i:03}", f"id{i}") for i in range(10)]

    def fetch(after, limit):
        return [r for r in rows if after is None or r > after][:limit]

    def even(row):
        return int(row[1][2:]) % 2 == 0

    first = paging.page(fetch, even, lambda r: r, marker=None, size=3)
    assert [r[1] for r in first.items] == ["id0", "id2", "id4"]
    second = paging.page(fetch, even, lambda r: r, marker=first.next_marker, size=3)
    assert [r[1] for r in second.items] == ["id6", "id8"]
    assert second.next_marker is None
    exact = paging.page(fetch, lambda r: True, lambda r: r, marker=None, size=10)
    assert len(exact.items) == 10 and exact.next_marker is None


@pytest.mark.parametrize("marker", ["", "x", "bm90IGpzb24", paging.encode_marker(("a", "b"))[:-2],
                                    "WzFd"])
def test_a_marker_this_listing_did_not_give_is_invalid_input(marker):
    with pytest.raises(InvalidInput, match="nextpage_opaque_marker"):
        paging.decode_marker(marker)


@pytest.fixture
def local(nfv_home):
    client = nfvlib.Client("local")
    yield client
    client.close()


def _seed(client, count):
    states = [OpState.COMPLETED, OpState.FAILED_TEMP, OpState.ROLLED_BACK]
    with client.store.transaction() as conn:
        for i in range(count):
            OpOccTable(client.store).insert(conn, OpOccRecord(
                id=str(uuid.uuid4()), vnf_instance_id=str(uuid.uuid4()),
                operation=Operation.SCALE, state=states[i % 3],
                # several occurrences share a start time: the id breaks the tie
                start_time=f"2026-01-01T00:{i // 7:02}:00+00:00",
                state_entered_time="2026-01-01T00:00:00+00:00"))


def _all_pages(list_page, **kwargs):
    pages = [list_page(**kwargs)]
    while pages[-1].next_marker:
        pages.append(list_page(marker=pages[-1].next_marker, **kwargs))
    return pages


@pytest.mark.parametrize("text", [None, FAILED])
def test_local_pages_add_up_to_the_list(local, text):
    _seed(local, 250)
    pages = _all_pages(local.lcm.page_op_occs, filter=text)
    listed = [op.id for op in local.lcm.list_op_occs(filter=text)]
    assert [op.id for page in pages for op in page.items] == listed
    assert all(len(page.items) == paging.PAGE_SIZE for page in pages[:-1])
    assert len(pages) == -(-len(listed) // paging.PAGE_SIZE)
    assert all(isinstance(page, Page) and type(page.items[0]) is nfvlib.OpOcc
               for page in pages)


def test_rows_added_between_pages_are_neither_skipped_nor_repeated(local):
    _seed(local, 150)
    first = local.lcm.page_op_occs()
    _seed(local, 10)  # start times 00:00..00:01, before the marker
    rest = _all_pages(local.lcm.page_op_occs, marker=first.next_marker)
    seen = [op.id for op in first.items] + [op.id for p in rest for op in p.items]
    assert len(seen) == len(set(seen)) == 150


def test_local_vnf_pages(local):
    package = local.packages.upload_package(
        local.packages.create_package().id,
        str(nfvlib.__file__).replace("__init__.py", "samples/sample_vnf"))
    made = [local.vnfs.create_vnf(package.vnfd_id, name=f"v{i}").id for i in range(105)]
    pages = _all_pages(local.vnfs.page_vnfs)
    assert sorted(v.id for p in pages for v in p.items) == sorted(made)
    assert [len(p.items) for p in pages] == [100, 5]
    named = local.vnfs.page_vnfs(filter="(eq,vnfInstanceName,v7)")
    assert [v.name for v in named.items] == ["v7"] and named.next_marker is None


def test_remote_pages_follow_tackers_marker(requests_mock):
    api = TackerApi(ks_session.Session(), endpoint_override=TACKER)
    url = f"{TACKER}/vnflcm/v2/vnf_lcm_op_occs"
    occ = {"id": "o1", "vnfInstanceId": "v1", "operation": "SCALE",
           "operationState": "FAILED_TEMP", "startTime": "2026-01-01T00:00:00Z",
           "stateEnteredTime": "2026-01-01T00:00:00Z", "isAutomaticInvocation": False,
           "isCancelPending": False}
    requests_mock.get(url, [
        {"json": [occ], "headers": {
            "Link": f'<{url}?filter=x&nextpage_opaque_marker=m-2>; rel="next"'}},
        {"json": [dict(occ, id="o2")]}])
    lcm = RemoteLcm(api)
    first = lcm.page_op_occs(filter=FAILED)
    assert [o.id for o in first.items] == ["o1"] and first.next_marker == "m-2"
    second = lcm.page_op_occs(filter=FAILED, marker=first.next_marker)
    assert [o.id for o in second.items] == ["o2"] and second.next_marker is None
    sent = requests_mock.request_history
    assert "nextpage_opaque_marker" not in sent[0].qs
    assert sent[1].qs["nextpage_opaque_marker"] == ["m-2"]
    assert sent[1].qs["filter"] == [FAILED.lower()]

    requests_mock.get(f"{TACKER}/vnflcm/v2/vnf_instances", json=[], headers={
        "Link": f'<{TACKER}/vnflcm/v2/vnf_instances?nextpage_opaque_marker=v-9>; '
                'rel="next"'})
    assert RemoteVnfs(api).page_vnfs().next_marker == "v-9"
