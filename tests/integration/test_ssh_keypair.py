"""ssh_keypair through Ansible (no engine needed): check -> apply -> again -> again in check mode,
a missing .pub derived, a bad key refused with a message, the private key never in the output."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import run_module


def test_check_apply_idempotent(tmp_path):
    key = tmp_path / "labs" / "sotest-keypair" / "id_ed25519"
    args = {"path": str(key), "comment": "sotest-keypair"}
    check, out = run_module("ssh_keypair", args, check=True, verbosity=3)
    assert not check.get("failed"), out
    assert check["changed"] and check["public_key"] == "" and not key.parent.exists()

    first, out = run_module("ssh_keypair", args, verbosity=3)
    assert first["changed"] and first["actions"] == ["generate key pair %s" % key], out
    assert first["public_key"].startswith("ssh-ed25519 ") and first["public_key"].endswith(" sotest-keypair")
    private = key.read_text()
    assert private.splitlines()[1] not in out  # the private key never reaches the output, even at -vvv

    for check_mode in (False, True):
        again, out = run_module("ssh_keypair", args, check=check_mode)
        assert not again["changed"] and again["actions"] == [] and again["public_key"] == first["public_key"], out

    os.remove(str(key) + ".pub")
    derived, out = run_module("ssh_keypair", args)
    assert derived["changed"] and derived["actions"] == ["write public key %s.pub" % key], out
    assert Path(str(key) + ".pub").read_text().strip() == first["public_key"] and key.read_text() == private


def test_a_file_that_is_no_key_fails_naming_it(tmp_path):
    key = tmp_path / "id_ed25519"
    key.write_text("garbage\n")
    result, out = run_module("ssh_keypair", {"path": str(key)})
    assert result.get("failed") and "%s is not an unencrypted OpenSSH private key" % key in result["msg"], out
    assert "Traceback" not in result["msg"] and key.read_text() == "garbage\n"
