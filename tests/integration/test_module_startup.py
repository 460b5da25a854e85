"""A real module run, as Ansible ships it (the AnsiballZ file Ansible leaves with keep_remote_files):
the collection's module_utils are compiled once each (compile_once), while Ansible's own, imported
from the same zip before the module runs, are still compiled twice. No engine needed."""

from __future__ import annotations

import collections
import json
import os
import subprocess

from conftest import BIN, ansible_env

COUNTER = r"""
import atexit, builtins, json, os
compiled = []
real_compile = builtins.compile


def counting_compile(source, filename, *args, **kwargs):
    compiled.append(str(filename))
    return real_compile(source, filename, *args, **kwargs)


builtins.compile = counting_compile
atexit.register(lambda: open(os.environ["SOTEST_COMPILED"], "w").write(json.dumps(compiled)))
"""


def test_a_module_run_compiles_the_collections_code_once(tmp_path):
    remote_tmp = tmp_path / "remote"
    env = ansible_env({"ANSIBLE_PIPELINING": "0", "ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_REMOTE_TMP": str(remote_tmp)})
    args = json.dumps({"directories": [{"path": str(tmp_path / "made"), "mode": "0755"}]})
    proc = subprocess.run([str(BIN / "ansible"), "localhost", "-c", "local", "-e", "ansible_python_interpreter=" + str(BIN / "python"),
                           "-m", "swarmops.core.file_set", "-a", args, "--check"], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [wrapper] = remote_tmp.glob("*/AnsiballZ_file_set.py")

    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(COUNTER)
    counts_file = tmp_path / "compiled.json"
    run = subprocess.run([str(BIN / "python"), str(wrapper)], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(tmp_path / "site"), SOTEST_COMPILED=str(counts_file)))
    assert run.returncode == 0 and '"changed": true' in run.stdout, run.stdout + run.stderr
    assert not (tmp_path / "made").exists()  # check mode

    counts = collections.Counter(path.split(".zip/", 1)[1] for path in json.loads(counts_file.read_text()) if ".zip/" in path)
    ours = {path: n for path, n in counts.items()  # the packages' __init__ files are imported before the module runs
            if path.startswith("ansible_collections/swarmops/core/plugins/module_utils/") and not path.endswith("__init__.py")}
    assert set(ours) >= {"ansible_collections/swarmops/core/plugins/module_utils/file_set.py",
                         "ansible_collections/swarmops/core/plugins/module_utils/plan.py",
                         "ansible_collections/swarmops/core/plugins/module_utils/runner.py"}
    assert ours.pop("ansible_collections/swarmops/core/plugins/module_utils/compile_once.py") == 2  # before it is in place
    assert set(ours.values()) == {1}, ours
    assert counts["ansible/module_utils/basic.py"] == 2  # imported before the module: zipimport as it is
