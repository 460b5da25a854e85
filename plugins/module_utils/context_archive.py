# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A build context carried inside the module's arguments: packed on the controller by the
docker_image_build action plugin (``src``), unpacked on the build host by the module.

One module run replaces a copy task, which runs a stat module per file on every run.
Only directories, regular files and symbolic links travel; modes are kept (they are part
of the context hash), owners and times are not. A leaf: imports nothing of the collection.
"""

from __future__ import annotations

import base64
import io
import os
import posixpath
import tarfile

MAX_BYTES = 16 * 1024 * 1024  # a bigger context belongs on the build host (``path``)


class ArchiveError(ValueError):
    """The context cannot travel this way (too big, unsupported file, unsafe member)."""


def _reset(info):
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    return info


def pack(directory, max_bytes=MAX_BYTES):
    """The directory's content as a base64 gzip tarball (names relative to it)."""
    if not os.path.isdir(directory):
        raise ArchiveError("%s is not a directory" % directory)
    buffer = io.BytesIO()
    total = 0
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for top, dirs, files in os.walk(directory):
            dirs.sort()
            for name in dirs + sorted(files):
                full = os.path.join(top, name)
                rel = os.path.relpath(full, directory)
                if not (os.path.islink(full) or os.path.isdir(full) or os.path.isfile(full)):
                    raise ArchiveError("%s is neither a file, a directory nor a link" % full)
                total += os.lstat(full).st_size
                if total > max_bytes:
                    raise ArchiveError("%s holds more than %d MiB; copy it to the build host and give path"
                                       % (directory, max_bytes // (1024 * 1024)))
                tar.add(full, arcname=rel, recursive=False, filter=_reset)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _member_path(dest, name, links):
    norm = posixpath.normpath(name)
    if norm.startswith("/") or norm == ".." or norm.startswith("../"):
        raise ArchiveError("member %r leaves the context" % name)
    parts = norm.split("/")
    for depth in range(1, len(parts)):
        if "/".join(parts[:depth]) in links:
            raise ArchiveError("member %r lies under a symbolic link" % name)
    return norm, os.path.join(dest, *parts)


def unpack(data, dest):
    """Write the archive from pack() under the existing directory ``dest``."""
    links = set()
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(data)), mode="r:gz") as tar:
        for member in tar:
            norm, path = _member_path(dest, member.name, links)
            if member.isdir():
                os.makedirs(path, exist_ok=True)
            elif member.isfile():
                with open(path, "wb") as out:
                    out.write(tar.extractfile(member).read())
            elif member.issym():
                os.symlink(member.linkname, path)
                links.add(norm)
                continue
            else:
                raise ArchiveError("member %r is neither a file, a directory nor a link" % member.name)
            os.chmod(path, member.mode & 0o7777)
