"""Secrets in LCM requests: the key-name rule, sealing in the store, masking on show.

A real SQLite store and real Fernet keys; Keystone over requests-mock; no
worker is started (the worker's side is called in-process, built the way
``python -m nfvlib.lcm.worker`` builds it).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml

import nfvlib
from nfvlib.lcm import plans, secrets
from nfvlib.lcm.catalog import LocalPackages, LocalVnfs
from nfvlib.lcm.engine import StepContext
from nfvlib.lcm.local import LocalLcm
from nfvlib.lcm.services import Services
from nfvlib.store.lcm import OpOccTable
from nfvlib.vault import Vault
from tests.unit.conftest import FakeClock, vim_config

SAMPLE = Path(nfvlib.__file__).parent / "samples" / "sample_vnf"
PASSWORD = "Adm1n-pass-xyzzy"


# -- the key-name rule ------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "password", "Password", "PASSWORD", "adminPassword", "admin_password",
    "vim_password", "OS_PASSWORD", "passwd", "db-passphrase", "token", "bearer_token",
    "authToken", "secret", "client_secret", "clientSecret", "privateKey",
    "private_key", "ssh-private-key", "sshPrivateKey", "apiKey", "secret_key",
    "Authorization"])
def test_secret_key_names(name):
    assert secrets.is_secret_key(name)


@pytest.mark.parametrize("name", [
    "tokenLifetime", "secretName", "passwordPolicy", "username", "user_name",
    "flavourId", "key", "keyName", "key_name", "publicKey", "public_key",
    "secretary_name", "tokens_issued", "region", "", 7, None])
def test_not_secret_key_names(name):
    assert not secrets.is_secret_key(name)


# -- masking and sealing, whatever the value's type and depth --------------------

NESTED = {
    "flavourId": "simple",
    "tokenLifetime": 3600, "secretName": "db-creds",
    "admin_password": ["x-list-secret"],
    "vim_password": {"v": "x-dict-secret"},
    "pin_token": 424242,
    "interfaceInfo": {"endpoint": "https://e", "secret": ["x-iface-1", "x-iface-2"]},
    "vdus": [{"name": "VDU1", "privateKey": "x-pem-secret"}],
    "vimConnectionInfo": {"v1": {"accessInfo": {"username": "u",
                                                "password": "x-access-secret"}}},
}
CLEAR = ("x-list-secret", "x-dict-secret", "424242", "x-iface-1", "x-iface-2",
         "x-pem-secret", "x-access-secret")


def test_mask_hides_whole_values_of_secret_keys_at_any_depth():
    shown = secrets.mask(NESTED)
    assert shown["admin_password"] == "***" and shown["vim_password"] == "***"
    assert shown["pin_token"] == "***"
    assert shown["interfaceInfo"] == {"endpoint": "https://e", "secret": "***"}
    assert shown["vdus"] == [{"name": "VDU1", "privateKey": "***"}]
    assert shown["vimConnectionInfo"]["v1"]["accessInfo"] == {"username": "u",
                                                             "password": "***"}
    assert shown["tokenLifetime"] == 3600 and shown["secretName"] == "db-creds"
    assert not any(c in json.dumps(shown) for c in CLEAR)


def test_seal_then_unseal_gives_back_every_value_with_its_type(tmp_path):
    vault = Vault(tmp_path / "keys")
    key_id = vault.new_key()
    sealed = secrets.seal(NESTED, vault, key_id)
    text = json.dumps(sealed)
    assert not any(c in text for c in CLEAR)
    assert secrets.is_sealed(sealed["vim_password"])
    assert sealed["tokenLifetime"] == 3600 and sealed["secretName"] == "db-creds"
    assert secrets.unseal(json.loads(text), vault) == NESTED
    assert secrets.mask(sealed) == secrets.mask(NESTED)


def test_unseal_leaves_values_that_were_never_sealed(tmp_path):
    old = {"additionalParams": {"password": "***"}, "flavourId": "simple"}
    assert secrets.unseal(old, Vault(tmp_path / "keys")) == old


# -- LocalLcm: sealed in the store, masked when shown, clear for the worker -------

@pytest.fixture
def world(nfv_home, keystone):
    client = nfvlib.Client()
    client.vims.register_vim("site", vim_config(), is_default=True)
    packages = LocalPackages(client.store, client.paths.data_dir / "packages")
    info = packages.upload_package(packages.create_package().id, str(SAMPLE))
    vnfs = LocalVnfs(client.store, packages)
    clock = FakeClock()
    lcm = LocalLcm(client.store, client.vims, packages, vnfs, spawn=lambda _: None,
                   clock=clock, sleep=clock.sleep)
    yield client, lcm, vnfs, info
    client.close()


def instantiate_request():
    return {"flavourId": "simple", "instantiationLevelId": "instantiation_level_1",
            "additionalParams": {
                "nfv": {"VDU": {"VDU1": {"admin_password": PASSWORD}}},
                "vim_password": {"v": "x-dict-secret"},
                "interfaceInfo": {"secret": ["x-iface-1"]},
                "tokenLifetime": 60}}


def raw_request(client, op_id) -> str:
    with sqlite3.connect(client.paths.store_file) as conn:
        return conn.execute("SELECT request FROM op_occs WHERE id = ?",
                            (op_id,)).fetchone()[0]


def test_stored_request_is_sealed_and_shown_masked(world):
    client, lcm, vnfs, info = world
    vnf = vnfs.create_vnf(info.vnfd_id)
    op = lcm.instantiate(vnf.id, instantiate_request())
    raw = raw_request(client, op.id)
    for clear in (PASSWORD, "x-dict-secret", "x-iface-1"):
        assert clear not in raw
    stored = json.loads(raw)["additionalParams"]
    assert secrets.is_sealed(stored["nfv"]["VDU"]["VDU1"]["admin_password"])
    assert stored["tokenLifetime"] == 60
    for shown in (op, lcm.get_op_occ(op.id), lcm.list_op_occs()[0]):
        params = shown.request["additionalParams"]
        assert params["nfv"]["VDU"]["VDU1"]["admin_password"] == "***"
        assert params["vim_password"] == "***"
        assert params["interfaceInfo"] == {"secret": "***"}
        assert params["tokenLifetime"] == 60


def test_the_worker_gets_the_real_values(world):
    client, lcm, vnfs, info = world
    vnf = vnfs.create_vnf(info.vnfd_id)
    op = lcm.instantiate(vnf.id, instantiate_request())
    services = Services.from_files(client.paths.store_file, client.paths.key_dir,
                                   package_dir=client.paths.data_dir / "packages")
    try:
        stored_op = OpOccTable(services.store).get(op.id)
        env = plans._Env(services, stored_op)
        params = env.request()["additionalParams"]
        assert params["nfv"]["VDU"]["VDU1"]["admin_password"] == PASSWORD
        assert params["vim_password"] == {"v": "x-dict-secret"}
        assert params["interfaceInfo"] == {"secret": ["x-iface-1"]}
        # The plan's first step builds Heat's nfv parameter from the real value;
        # it keeps it sealed and sends it to Heat in clear.
        validate = plans.build(stored_op, services)[0]
        ctx = StepContext(stored_op, {}, runner=None)
        validate.do(ctx)
        assert PASSWORD not in json.dumps(ctx.data)
        sent = json.loads(env.heat_nfv(ctx.data["nfv"]))
        assert sent["VDU"]["VDU1"]["admin_password"] == PASSWORD
    finally:
        services.close()


def test_lifecycle_scripts_get_the_real_values(world, monkeypatch):
    from nfvlib.lcm import scripts

    client, lcm, vnfs, info = world
    vnf = vnfs.create_vnf(info.vnfd_id)
    op = lcm.instantiate(vnf.id, instantiate_request())
    seen = {}

    def run_script(package_dir, script, event, params, **kw):
        seen.update(params)
        return "ok"

    monkeypatch.setattr(scripts, "run_script", run_script)
    services = Services.from_files(client.paths.store_file, client.paths.key_dir,
                                   package_dir=client.paths.data_dir / "packages")
    try:
        stored_op = OpOccTable(services.store).get(op.id)
        step = next(s for s in plans.build(stored_op, services)
                    if s.name == "run instantiate_start script")
        step.do(StepContext(stored_op, {"flavour_id": "simple"}, runner=None))
    finally:
        services.close()
    assert seen["additional_params"]["vim_password"] == {"v": "x-dict-secret"}
    assert (seen["additional_params"]["nfv"]["VDU"]["VDU1"]["admin_password"]
            == PASSWORD)


def test_one_store_owned_key_seals_requests_and_only_when_needed(world):
    client, lcm, _, _ = world
    ledger = client.vims.vault.ledger
    assert lcm._seal({"flavourId": "simple"}) == {"flavourId": "simple"}
    assert ledger.recorded(secrets.REQUEST_KEY_PURPOSE) == {}  # no secret, no key
    first = lcm._seal({"client_secret": "x-heal-secret"})
    second = lcm._seal({"additionalParams": {"token": "x-scale-secret"}})
    assert "x-heal-secret" not in json.dumps(first)
    assert "x-scale-secret" not in json.dumps(second)
    [key_id] = ledger.recorded(secrets.REQUEST_KEY_PURPOSE)
    assert first["client_secret"].startswith(f"sealed:v1:{key_id}:")
    assert (client.paths.key_dir / f"{key_id}.key").exists()


# -- the CLI shows *** in every format ----------------------------------------------

@pytest.mark.parametrize("fmt", ["json", "yaml", "table", "value", "shell"])
def test_op_show_masks_secrets_in_every_format(world, capsys, fmt):
    from nfvcli import shell

    client, lcm, vnfs, info = world
    vnf = vnfs.create_vnf(info.vnfd_id)
    op = lcm.instantiate(vnf.id, instantiate_request())
    client.close()
    code = shell.main(["vnflcm", "op", "show", op.id, "-f", fmt])
    out, err = capsys.readouterr()
    assert code == 0, err
    for clear in (PASSWORD, "x-dict-secret", "x-iface-1"):
        assert clear not in out
    assert "sealed:" not in out
    if fmt == "json":
        params = json.loads(out)["Operation Parameters"]["additionalParams"]
        assert params["nfv"]["VDU"]["VDU1"]["admin_password"] == "***"
        assert params["vim_password"] == "***"
    elif fmt == "yaml":
        params = yaml.safe_load(out)["Operation Parameters"]["additionalParams"]
        assert params["interfaceInfo"] == {"secret": "***"}
    else:
        assert "***" in out
