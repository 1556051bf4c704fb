"""`nfv sandbox ...` works on this machine's store whatever the mode."""

from __future__ import annotations

import json

from nfvcli import shell


def test_status_in_remote_mode_reads_the_local_sandbox(nfv_home, capsys, monkeypatch):
    """``sandbox openrc`` exports OS_NFV_MODE=remote: the sandbox commands must
    still find the sandbox (and its VIM) in the local store, not ask Tacker."""
    for name in ("OS_AUTH_URL", "OS_CLOUD", "OS_USERNAME", "OS_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OS_NFV_MODE", "remote")
    code = shell.main(["sandbox", "status", "-f", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    status = json.loads(out)
    assert status["keystone_running"] is False and status["vim"] is None
    assert status["data_dir"] == str(nfv_home / "sandbox")
