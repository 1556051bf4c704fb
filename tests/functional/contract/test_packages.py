"""The VNF package contract: Tacker's own sample package onboards, and the
404 and 409 paths of packages."""

from __future__ import annotations

import json

import pytest

from nfvlib import Conflict, NotFound, OnboardingState
from tests.data import TACKER_SAMPLE
from tests.functional.contract.conftest import NO_SUCH_ID, SAMPLE_VNFD


def test_tackers_sample_onboards(backend, sample):
    assert sample.vnfd_id == SAMPLE_VNFD
    held = backend.client.packages.get_package(sample.id)
    assert held.onboarding_state is OnboardingState.ONBOARDED
    assert (held.operational_state, held.usage_state) == ("ENABLED", "NOT_IN_USE")
    assert sample.id in {p.id for p in backend.client.packages.list_packages()}
    code, out, err = backend.openstack("vnf", "package", "show", sample.id, "-f", "json")
    assert code == 0, err
    shown = json.loads(out)
    assert (shown["ID"], shown["VNFD ID"], shown["Onboarding State"]) == (
        sample.id, SAMPLE_VNFD, "ONBOARDED")


def test_a_second_package_with_the_same_vnfd_id_is_refused(backend, sample):
    packages = backend.client.packages
    again = packages.create_package({"test": "duplicate-vnfd"})
    try:
        with pytest.raises(Conflict, match=SAMPLE_VNFD):
            packages.upload_package(again.id, str(TACKER_SAMPLE))
        assert packages.get_package(again.id).onboarding_state is OnboardingState.CREATED
    finally:
        packages.delete_package(again.id)
    with pytest.raises(NotFound):
        packages.get_package(again.id)


def test_a_package_in_use_cannot_be_deleted(backend, sample):
    vnf = backend.client.vnfs.create_vnf(sample.vnfd_id, name="holds-the-package")
    try:
        assert backend.client.packages.get_package(sample.id).usage_state == "IN_USE"
        with pytest.raises(Conflict):
            backend.client.packages.delete_package(sample.id)
        code, _, err = backend.openstack("vnf", "package", "delete", sample.id)
        assert code == 4, err
    finally:
        backend.client.vnfs.delete_vnf(vnf.id)
    held = backend.client.packages.get_package(sample.id)
    assert held.onboarding_state is OnboardingState.ONBOARDED


def test_unknown_package_is_not_found(backend):
    packages = backend.client.packages
    for request in (packages.get_package, packages.delete_package):
        with pytest.raises(NotFound):
            request(NO_SUCH_ID)
    with pytest.raises(NotFound):
        packages.upload_package(NO_SUCH_ID, str(TACKER_SAMPLE))
    code, _, err = backend.openstack("vnf", "package", "show", NO_SUCH_ID)
    assert code == 3 and len(err.strip().splitlines()) == 1, err
