"""The collection tarball builds, installs, and what it installs works by FQCN."""

import subprocess
import tarfile

from conftest import BIN, ROOT


def run(cmd, cwd, env=None):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_tarball_installs_and_renders(tmp_path):
    run([str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(tmp_path)], ROOT)
    tarball = tmp_path / "swarmops-core-0.1.0.tar.gz"
    names = tarfile.open(tarball).getnames()
    assert "plugins/modules/stack_deploy.py" in names and "roles/stack/tasks/main.yml" in names
    assert not [n for n in names if n.split("/")[0] in (".venv", ".collections", ".ansible", "artifacts")]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run([str(BIN / "ansible-galaxy"), "collection", "install", "--force", str(tarball), "-p", str(tmp_path / "cols")],
        elsewhere)
    env = {"PATH": str(BIN) + ":/usr/bin:/bin", "HOME": str(tmp_path), "ANSIBLE_COLLECTIONS_PATH": str(tmp_path / "cols")}
    for name in ("stack_deploy", "swarm_init", "swarm_join", "docker_image_build", "docker_lab"):
        assert "swarmops.core.%s" % name in run([str(BIN / "ansible-doc"), "swarmops.core." + name], elsewhere, env)
    for role in ("lab_hosts", "docker_engine", "swarm", "registry", "app_image", "stack", "virtualbox_hosts"):
        assert "swarmops.core.%s" % role in run([str(BIN / "ansible-doc"), "-t", "role", "swarmops.core." + role],
                                                elsewhere, env)
