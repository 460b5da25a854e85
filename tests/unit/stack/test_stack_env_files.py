"""stack_deploy env_files: parsing (the shared env-file reader), precedence, masking, bad input."""

from __future__ import annotations

import pytest

from ansible_collections.swarmops.core.plugins.module_utils import compose
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError
from ansible_collections.swarmops.core.plugins.module_utils.stack import (
    interpolation_env,
    read_env_files,
    secret_values,
)
from ansible_collections.swarmops.core.plugins.modules.stack_deploy import ARGUMENT_SPEC


def _file(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


def test_syntax_is_the_docker_env_file_one(tmp_path):
    path = _file(tmp_path, "a.env", "\ufeff# comment\n\n  A=1\nB = spaced \nC=x=y\nD=\"quoted\" # kept\nE=\nBARE\n")
    assert compose.read_env_file(path) == {
        "A": "1", "B": " spaced", "C": "x=y", "D": "\"quoted\" # kept", "E": "", "BARE": None}


def test_later_files_win_and_env_wins_over_files(tmp_path, monkeypatch):
    monkeypatch.setenv("FROM_PROCESS", "process")
    monkeypatch.setenv("SHADOWED", "process")
    first = _file(tmp_path, "first.env", "A=first\nB=first\nSHADOWED=file\nONLY_FIRST=1\n")
    second = _file(tmp_path, "second.env", "B=second\nC=second\nFROM_PROCESS\n")
    params = {"env_files": [first, second], "env": {"C": "env", "N": 3}}
    env = interpolation_env(params)
    assert {k: env[k] for k in ("A", "B", "C", "N", "ONLY_FIRST", "SHADOWED", "FROM_PROCESS")} == {
        "A": "first", "B": "second", "C": "env", "N": "3", "ONLY_FIRST": "1",
        "SHADOWED": "file",  # the files win over the module's environment
        "FROM_PROCESS": "process"}  # a bare KEY sets nothing


def test_relative_paths_are_resolved_against_project_dir(tmp_path):
    _file(tmp_path, "app.env", "A=1\n")
    assert read_env_files(["app.env"], str(tmp_path)) == {"A": "1"}


def test_values_that_can_be_secret_are_masked_like_env_values():
    assert secret_values({"PASSWORD": "hunter2-long", "N": "3", "E": ""}) == {"hunter2-long"}


def test_file_values_reach_the_compose_interpolation(tmp_path):
    env_file = _file(tmp_path, "app.env", "IMAGE=app:1\nDB_PASSWORD=from-file\n")
    data = {"services": {"web": {"image": "${IMAGE}", "environment": {"DB_PASSWORD": "${DB_PASSWORD}"}}}}
    model, _ = compose.load([data], interpolation_env({"env_files": [env_file], "env": {"IMAGE": "app:2"}}))
    assert model["services"]["web"]["image"] == "app:2"
    assert model["services"]["web"]["environment"] == {"DB_PASSWORD": "from-file"}


@pytest.mark.parametrize("name, content, message", [
    ("missing.env", None, "cannot read env_file {path}: No such file or directory"),
    ("latin1.env", b"A=caf\xe9\n", "env_file {path} is not UTF-8 text (byte 5)"),
    ("big.env", b"A=" + b"x" * compose.MAX_FILE_BYTES, "env_file {path} is larger than 4 MiB"),
    ("export.env", "export A=1\n", "env_file {path}, line 1: the variable name contains whitespace"),
    ("noname.env", "# c\n=value\n", "env_file {path}, line 2: no variable name before ="),
    ("dir.env", "dir", "cannot read env_file {path}: Is a directory"),
])
def test_bad_files_fail_naming_the_option_and_file(tmp_path, name, content, message):
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif content is not None:
        _file(tmp_path, name, content)
    ok = _file(tmp_path, "ok.env", "A=1\n")
    with pytest.raises(SwarmOpsError) as err:
        read_env_files([ok, str(path)])
    assert str(err.value).startswith("env_files[1]: " + message.format(path=path))
    assert "=1" not in str(err.value) and "=value" not in str(err.value)  # no line is echoed


def test_option_is_a_list_of_paths():
    assert ARGUMENT_SPEC["env_files"] == {"type": "list", "elements": "path", "default": []}
