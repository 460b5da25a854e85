"""context_archive: the build context packed on the controller, unpacked on the build host."""

from __future__ import annotations

import base64
import io
import os
import tarfile

import pytest

from ansible_collections.swarmops.core.plugins.module_utils.context_archive import ArchiveError, pack, unpack


def _tree(root):
    out = {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(top, name)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            out[rel] = (oct(st.st_mode), os.readlink(full) if os.path.islink(full) else
                        open(full, "rb").read() if os.path.isfile(full) else None)
    return out


def test_round_trip_keeps_names_modes_contents_and_links(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "Dockerfile").write_text("FROM scratch\n")
    (src / "run.sh").write_text("#!/bin/sh\n")
    (src / "run.sh").chmod(0o755)
    (src / "sub" / "data.bin").write_bytes(bytes(range(256)))
    (src / "sub").chmod(0o750)
    os.symlink("../Dockerfile", src / "sub" / "link")
    dest = tmp_path / "dest"
    dest.mkdir()
    unpack(pack(str(src)), str(dest))
    assert _tree(dest) == _tree(src)


def test_pack_refuses_a_missing_directory_a_fifo_and_too_much(tmp_path):
    with pytest.raises(ArchiveError, match="not a directory"):
        pack(str(tmp_path / "absent"))
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(ArchiveError, match="neither a file"):
        pack(str(tmp_path))
    os.unlink(tmp_path / "fifo")
    (tmp_path / "big").write_bytes(b"x" * 2048)
    with pytest.raises(ArchiveError, match="give path"):
        pack(str(tmp_path), max_bytes=1024)


def _archive(*members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return base64.b64encode(buffer.getvalue()).decode()


def _file(name, data=b"x"):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _link(name, target):
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info, None


@pytest.mark.parametrize("members, needle", [
    ([_file("../escape")], "leaves the context"),
    ([_file("/etc/escape")], "leaves the context"),
    ([_file("a/../../escape")], "leaves the context"),
    ([_link("out", "/etc"), _file("out/passwd")], "under a symbolic link"),
])
def test_unpack_refuses_members_outside_the_directory(tmp_path, members, needle):
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(ArchiveError, match=needle):
        unpack(_archive(*members), str(dest))
    assert not (tmp_path / "escape").exists()


def test_unpack_refuses_devices(tmp_path):
    info = tarfile.TarInfo("dev")
    info.type = tarfile.CHRTYPE
    with pytest.raises(ArchiveError, match="neither a file"):
        unpack(_archive((info, None)), str(tmp_path))
