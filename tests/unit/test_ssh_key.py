"""ssh_key: the one Ed25519 key-pair maker (ssh_keypair's read -> build -> diff -> apply, and the VM
providers' public_key_for), on files in a temporary directory."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from ansible_collections.swarmops.core.plugins.module_utils import ssh_key
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def params(path, comment="swarmops-test"):
    return {"path": str(path), "comment": comment}


# ---------------------------------------------------------------- build and diff: pure

def test_build_takes_the_options():
    assert ssh_key.build(params("/k/id", "c")) == {"path": "/k/id", "comment": "c"}


def test_diff_no_key_generates_and_knows_no_public_line_yet():
    actual = {"key": False, "public": True, "private_key": None}  # a stray .pub alone does not count
    assert ssh_key.diff(actual, ssh_key.build(params("/k/id"))) == {"actions": ["generate"], "public_key": ""}


def test_diff_key_without_pub_derives_it_with_the_comment(tmp_path):
    line = ssh_key.generate(str(tmp_path / "id"), "old")
    actual = ssh_key.read(str(tmp_path / "id"))
    plan = ssh_key.diff(dict(actual, public=False), ssh_key.build(params(tmp_path / "id", "new")))
    assert plan == {"actions": ["write_public"], "public_key": line.rsplit(" ", 1)[0] + " new"}


def test_diff_complete_pair_is_no_action(tmp_path):
    ssh_key.generate(str(tmp_path / "id"), "c")
    plan = ssh_key.diff(ssh_key.read(str(tmp_path / "id")), ssh_key.build(params(tmp_path / "id", "c")))
    assert plan["actions"] == [] and plan["public_key"].startswith("ssh-ed25519 ")


# ---------------------------------------------------------------- the module: check, apply, again

def test_check_mode_reports_the_generation_and_writes_nothing(tmp_path):
    key = tmp_path / "labs" / "id_ed25519"
    result = ssh_key.ensure(params(key), check_mode=True)
    assert result == {"changed": True, "path": str(key), "public_key": "",
                      "actions": ["generate key pair %s" % key]}
    assert not (tmp_path / "labs").exists()


def test_apply_then_again_unchanged(tmp_path):
    key = tmp_path / "labs" / "id_ed25519"
    first = ssh_key.ensure(params(key), check_mode=False)
    assert first["changed"] and re.fullmatch(r"ssh-ed25519 \S+ swarmops-test", first["public_key"])
    assert (mode(key), mode(str(key) + ".pub"), mode(key.parent)) == (0o600, 0o644 & ~_umask(), 0o700)
    assert Path(str(key) + ".pub").read_text() == first["public_key"] + "\n"
    assert b"PRIVATE KEY" in key.read_bytes() and b"PRIVATE" not in repr(first).encode()
    for check_mode in (False, True):
        again = ssh_key.ensure(params(key), check_mode=check_mode)
        assert again == {"changed": False, "path": str(key), "public_key": first["public_key"], "actions": []}


def test_a_missing_pub_is_derived_from_the_kept_key(tmp_path):
    key = tmp_path / "id_ed25519"
    first = ssh_key.ensure(params(key), check_mode=False)
    private = key.read_bytes()
    os.remove(str(key) + ".pub")
    check = ssh_key.ensure(params(key), check_mode=True)
    assert check["changed"] and check["public_key"] == first["public_key"]
    assert not os.path.exists(str(key) + ".pub")
    result = ssh_key.ensure(params(key), check_mode=False)
    assert result["actions"] == ["write public key %s.pub" % key] and key.read_bytes() == private
    assert Path(str(key) + ".pub").read_text() == first["public_key"] + "\n"


def test_a_file_that_is_no_openssh_key_is_refused_naming_it(tmp_path):
    key = tmp_path / "id_ed25519"
    key.write_text("not a key\n")
    with pytest.raises(SwarmOpsError, match="%s is not an unencrypted OpenSSH private key" % re.escape(str(key))):
        ssh_key.ensure(params(key), check_mode=True)
    assert key.read_text() == "not a key\n"


# ---------------------------------------------------------------- the providers' key

def test_public_key_for_generates_once_with_the_providers_comment(tmp_path):
    key = str(tmp_path / "vbox" / "id_ed25519")
    first = ssh_key.public_key_for(key)
    assert first.startswith("ssh-ed25519 ") and first.endswith(" swarmops-virtualbox")
    assert ssh_key.public_key_for(key) == first and mode(key) == 0o600


def test_public_key_for_refuses_a_key_without_its_pub(tmp_path):
    key = str(tmp_path / "id_ed25519")
    ssh_key.generate(key, "c")
    os.remove(key + ".pub")
    with pytest.raises(SwarmOpsError, match="exists but its public key .*id_ed25519.pub does not"):
        ssh_key.public_key_for(key)


def test_keys_are_generated_in_one_place():
    makers = [str(p.relative_to(PLUGINS)) for p in PLUGINS.rglob("*.py") if "Ed25519PrivateKey.generate" in p.read_text()
              or "ed25519.Ed25519PrivateKey" in p.read_text()]
    assert makers == ["module_utils/ssh_key.py"]


def _umask():
    current = os.umask(0)
    os.umask(current)
    return current
