"""compile_once: modules of the named packages imported from a real zip are compiled once, not twice,
under the same names, and everything else imports as before. Each case runs in its own Python,
as the module changes the interpreter's import hooks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import builtins, json, sys
compiled = []
real_compile = builtins.compile


def counting_compile(source, filename, *args, **kwargs):
    compiled.append(str(filename).replace(sys.argv[1], "ZIP"))
    return real_compile(source, filename, *args, **kwargs)


builtins.compile = counting_compile
sys.path.insert(0, sys.argv[1])
if sys.argv[2] == "installed":  # as in a module run: the zip's importer exists before the import
    from ansible_collections.swarmops.core.plugins.module_utils import compile_once
    compile_once.PACKAGES = ("sotestpkg",)
import sotestpkg.mod, sotestpkg.sub.leaf, othertop
try:
    import sotestpkg.missing
    missing = None
except ImportError as exc:
    missing = type(exc).__name__
files = {m.__name__: m.__file__.replace(sys.argv[1], "ZIP") for m in (sotestpkg, sotestpkg.mod, sotestpkg.sub, sotestpkg.sub.leaf, othertop)}
print(json.dumps({"compiled": sorted(c for c in compiled if c.startswith("ZIP")), "files": files, "missing": missing,
                  "value": sotestpkg.sub.leaf.VALUE}))
"""


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("zip") / "payload.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("sotestpkg/__init__.py", "")
        zf.writestr("sotestpkg/mod.py", "X = 1\n")
        zf.writestr("sotestpkg/sub/__init__.py", "from sotestpkg.mod import X\n")
        zf.writestr("sotestpkg/sub/leaf.py", "from sotestpkg.sub import X\nVALUE = X + 1\n")
        zf.writestr("othertop.py", "Y = 2\n")
    return path


def imported(archive, mode):
    env = dict(os.environ, PYTHONPATH=str(ROOT / ".collections"))
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(archive), mode], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_without_it_zipimport_compiles_every_module_twice(archive):
    """The cost it removes. If this fails, CPython fixed gh-141276 and compile_once can go."""
    plain = imported(archive, "plain")
    assert plain["compiled"] == sorted(2 * ["ZIP/othertop.py", "ZIP/sotestpkg/__init__.py", "ZIP/sotestpkg/mod.py",
                                            "ZIP/sotestpkg/sub/__init__.py", "ZIP/sotestpkg/sub/leaf.py"])


def test_with_it_each_module_of_the_package_is_compiled_once_others_as_before(archive):
    installed = imported(archive, "installed")
    assert installed["compiled"] == sorted(["ZIP/sotestpkg/__init__.py", "ZIP/sotestpkg/mod.py",
                                            "ZIP/sotestpkg/sub/__init__.py", "ZIP/sotestpkg/sub/leaf.py"]
                                           + 2 * ["ZIP/othertop.py"])
    assert installed["value"] == 2


def test_names_and_missing_modules_are_what_zipimport_gives(archive):
    plain, installed = imported(archive, "plain"), imported(archive, "installed")
    assert installed["files"] == plain["files"] == {
        "sotestpkg": "ZIP/sotestpkg/__init__.py", "sotestpkg.mod": "ZIP/sotestpkg/mod.py",
        "sotestpkg.sub": "ZIP/sotestpkg/sub/__init__.py", "sotestpkg.sub.leaf": "ZIP/sotestpkg/sub/leaf.py",
        "othertop": "ZIP/othertop.py"}
    assert installed["missing"] == plain["missing"] == "ModuleNotFoundError"
