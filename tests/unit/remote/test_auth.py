"""Remote-mode settings: OS_INSECURE, OS_CACERT, OS_NFV_TIMEOUT and OS_CLOUD."""

from __future__ import annotations

import os

import pytest
import requests
import yaml
from keystoneauth1 import session as ks_session

import nfvlib
from nfvlib.config import env_bool, parse_bool
from nfvlib.exceptions import InvalidInput, Unreachable
from nfvlib.remote.auth import session_from_env, settings_from_env
from nfvlib.remote.http import TackerApi
from tests.unit.conftest import AUTH_URL

TACKER = "http://tacker.test:9890"
VIMS = TACKER + "/v1.0/vims"
OPENRC = {"OS_AUTH_URL": AUTH_URL, "OS_USERNAME": "alice", "OS_PASSWORD": "s3cret",
          "OS_PROJECT_NAME": "demo"}


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No OS_* variable leaks in from the machine (openstacksdk reads os.environ)."""
    for name in list(os.environ):
        if name.startswith("OS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.config/openstack/clouds.yaml
    monkeypatch.chdir(tmp_path)  # no ./clouds.yaml
    return monkeypatch


@pytest.mark.parametrize("text", ["false", "False", "NO", "0", "off", " Off "])
def test_os_insecure_false_keeps_verification_on(text):
    assert session_from_env(dict(OPENRC, OS_INSECURE=text)).verify is True
    assert session_from_env(dict(OPENRC, OS_INSECURE=text,
                                 OS_CACERT="/etc/ca.pem")).verify == "/etc/ca.pem"


@pytest.mark.parametrize("text", ["true", "TRUE", "yes", "1", "on"])
def test_os_insecure_true_turns_verification_off(text):
    assert session_from_env(dict(OPENRC, OS_INSECURE=text)).verify is False
    assert session_from_env(dict(OPENRC, OS_INSECURE=text,
                                 OS_CACERT="/etc/ca.pem")).verify is False


def test_unset_insecure_verifies_and_a_bad_one_is_refused():
    assert session_from_env(OPENRC).verify is True
    assert session_from_env(dict(OPENRC, OS_INSECURE="")).verify is True
    assert session_from_env(dict(OPENRC, OS_CACERT="/ca.pem")).verify == "/ca.pem"
    with pytest.raises(InvalidInput) as err:
        session_from_env(dict(OPENRC, OS_INSECURE="maybe"))
    assert str(err.value).startswith("OS_INSECURE='maybe' is not a boolean")
    assert "true/false" in str(err.value) and "\n" not in str(err.value)


def test_parse_bool():
    assert parse_bool(True, "x") is True and parse_bool("Yes", "x") is True
    assert env_bool({}, "X", default=True) is True
    with pytest.raises(InvalidInput, match="X='2'"):
        env_bool({"X": "2"}, "X")


def test_sessions_have_a_timeout_default_or_from_the_environment():
    assert session_from_env(OPENRC).timeout == 60
    assert session_from_env(dict(OPENRC, OS_NFV_TIMEOUT="2.5")).timeout == 2.5
    assert session_from_env(OPENRC, timeout=7).timeout == 7
    for bad in ("soon", "0", "-1", "inf"):
        with pytest.raises(InvalidInput, match=f"OS_NFV_TIMEOUT='{bad}'"):
            session_from_env(dict(OPENRC, OS_NFV_TIMEOUT=bad))


def test_every_tacker_request_carries_the_timeout(requests_mock):
    requests_mock.get(VIMS, json={"vims": []})
    client = nfvlib.Client("remote", session=ks_session.Session(),
                           endpoint_override=TACKER, env={"OS_NFV_TIMEOUT": "3"})
    client.vims.list_vims()
    assert requests_mock.last_request.timeout == 3
    client = nfvlib.Client("remote", session=ks_session.Session(),
                           endpoint_override=TACKER, env={}, timeout=9)
    client.vims.list_vims()
    assert requests_mock.last_request.timeout == 9
    nfvlib.Client("remote", session=ks_session.Session(), endpoint_override=TACKER,
                  env={}).vims.list_vims()
    assert requests_mock.last_request.timeout == 60


@pytest.mark.parametrize("error", [requests.exceptions.ReadTimeout,
                                   requests.exceptions.ConnectTimeout])
def test_a_timeout_is_unreachable_in_one_line(requests_mock, error):
    requests_mock.get(VIMS, exc=error("read timed out"))
    api = TackerApi(ks_session.Session(), endpoint_override=TACKER, timeout=4)
    with pytest.raises(Unreachable) as err:
        api.call("GET", "/v1.0/vims")
    text = str(err.value)
    assert text.startswith("the server did not answer within 4 s: ")
    assert VIMS in text and "OS_NFV_TIMEOUT" in text and "\n" not in text


# -- OS_CLOUD (clouds.yaml) --------------------------------------------------------
def write_clouds(tmp_path, **cloud):
    entry = {"auth": {"auth_url": AUTH_URL, "username": "alice", "password": "s3cret",
                      "project_name": "demo", "project_domain_name": "Default",
                      "user_domain_name": "Default"},
             "region_name": "RegionTwo", "identity_api_version": 3}
    entry.update(cloud)
    path = tmp_path / "clouds.yaml"
    path.write_text(yaml.safe_dump({"clouds": {"mycloud": entry}}))
    return str(path)


def test_os_cloud_authenticates_with_clouds_yaml(clean_env, tmp_path, keystone,
                                                 requests_mock):
    env = {"OS_CLOUD": "mycloud", "OS_CLIENT_CONFIG_FILE": write_clouds(tmp_path),
           "OS_TACKER_URL": TACKER}
    clean_env.setenv("OS_CLIENT_CONFIG_FILE", env["OS_CLIENT_CONFIG_FILE"])
    # The generic password plugin discovers the identity version first.
    requests_mock.get(AUTH_URL, json={"version": {
        "id": "v3.14", "status": "stable",
        "links": [{"rel": "self", "href": AUTH_URL + "/"}]}})
    settings = settings_from_env(env)
    assert settings.region_name == "RegionTwo"
    assert settings.session.verify is True and settings.session.timeout == 60
    requests_mock.get(VIMS, json={"vims": []})
    assert nfvlib.Client("remote", env=env).vims.list_vims() == []
    token_request = next(r for r in requests_mock.request_history
                         if r.path.endswith("/auth/tokens"))
    user = token_request.json()["auth"]["identity"]["password"]["user"]
    assert (user["name"], user["password"]) == ("alice", "s3cret")
    assert requests_mock.last_request.url == VIMS
    assert requests_mock.last_request.headers["X-Auth-Token"] == "tok"


def test_os_cloud_tls_settings_and_overrides(clean_env, tmp_path):
    path = write_clouds(tmp_path, verify=False)
    clean_env.setenv("OS_CLIENT_CONFIG_FILE", path)
    env = {"OS_CLOUD": "mycloud", "OS_CLIENT_CONFIG_FILE": path}
    assert session_from_env(env).verify is False
    assert session_from_env(dict(env, OS_INSECURE="false",
                                 OS_CACERT="/ca.pem")).verify == "/ca.pem"
    path = write_clouds(tmp_path, cacert="/cloud-ca.pem")
    assert session_from_env(env).verify == "/cloud-ca.pem"
    assert session_from_env(dict(env, OS_INSECURE="yes")).verify is False
    write_clouds(tmp_path, region_name=None, regions=["RegionOne", "RegionTwo"])
    assert settings_from_env(dict(env, OS_REGION_NAME="RegionTwo")).region_name == \
        "RegionTwo"


def test_unknown_cloud_is_invalid_input_in_one_line(clean_env, tmp_path):
    path = write_clouds(tmp_path)
    clean_env.setenv("OS_CLIENT_CONFIG_FILE", path)
    with pytest.raises(InvalidInput) as err:
        settings_from_env({"OS_CLOUD": "nocloud", "OS_CLIENT_CONFIG_FILE": path})
    assert "cannot use cloud 'nocloud' (OS_CLOUD)" in str(err.value)
    assert "\n" not in str(err.value)


def test_no_credentials_at_all_names_both_ways():
    with pytest.raises(InvalidInput, match="OS_CLOUD, or OS_AUTH_URL"):
        nfvlib.Client("remote", env={})
