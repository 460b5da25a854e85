"""Helpers for tests that drive VirtualBox code against the simulated VBoxManage (tests/fakes).

FakeVBox(tmp_path) gives: an env dict for `ansible`/`ansible-playbook` (PATH starts with the fake,
its state file, and the loopback_only guard loaded into every Python process), direct calls to
the fake, the state as JSON, a small OVA, and loopback SSH listeners that stand in for the
forwarded port of a running VM. Nothing here sends traffic anywhere but 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

FAKES = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


class SshListener:
    """A 127.0.0.1 TCP server that greets like sshd; the 'forwarded port' of a simulated VM."""

    def __init__(self, banner=b"SSH-2.0-OpenSSH_9.2p1 fake\r\n"):
        self.banner = banner
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.sendall(self.banner)

    def close(self):
        self.sock.close()


class FakeVBox:
    def __init__(self, tmp_path):
        self.root = Path(tmp_path)
        self.state_file = self.root / "vbox-state.json"
        self.guard_log = self.root / "loopback-guard.log"
        self.ova = self.make_ova("debian-12.ova")
        self.env = dict(
            PATH=os.pathsep.join([str(FAKES), str(BIN), os.environ.get("PATH", "")]),
            FAKE_VBOXMANAGE_STATE=str(self.state_file),
            PYTHONPATH=str(FAKES / "loopback_only"),
            LOOPBACK_GUARD_LOG=str(self.guard_log),
        )

    def make_ova(self, name):
        ovf = self.root / (name + ".ovf")
        ovf.write_text('<?xml version="1.0"?><Envelope><VirtualSystem ovf:id="debian-12"/></Envelope>\n')
        ova = self.root / name
        with tarfile.open(ova, "w") as tar:
            tar.add(ovf, arcname="debian-12.ovf")
        return str(ova)

    def vboxmanage(self, *args, check=True):
        env = dict(os.environ, **self.env)
        proc = subprocess.run([str(FAKES / "VBoxManage")] + list(args), env=env, capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise AssertionError("VBoxManage %s: rc=%d %s" % (args, proc.returncode, proc.stderr))
        return proc

    def state(self):
        return json.loads(self.state_file.read_text()) if self.state_file.exists() else {"vms": {}}

    def vm(self, name):
        return next((vm for vm in self.state()["vms"].values() if vm["name"] == name), None)

    def edit_vm(self, name, **changes):
        state = self.state()
        for vm in state["vms"].values():
            if vm["name"] == name:
                vm.update(changes)
        self.state_file.write_text(json.dumps(state))

    def guard_violations(self):
        return self.guard_log.read_text() if self.guard_log.exists() else ""
