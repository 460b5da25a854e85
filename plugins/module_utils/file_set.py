# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A set of directories and small text files on one host, ensured in one module run.

``validate`` (pure) checks every entry and collects every problem; ``read`` only looks;
``plan`` (pure) compares and returns a Plan; ``apply`` is the only code that writes.
Contract: the content of a ``secret`` file never reaches a result, a diff or an error
message (a unit test holds ``plan`` and ``results`` to it). ``checksum`` is the SHA-1 of
the content, the value ansible.builtin.copy returns, so a checksum registered from copy
compares equal.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile

from ansible_collections.swarmops.core.plugins.module_utils.plan import NOOP, Plan, dispatch, keyed
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError

MODE_RE = re.compile(r"^[0-7]{3,4}$")
# ansible.builtin.copy skips diffs of files larger than this (MAX_FILE_SIZE_FOR_DIFF).
MAX_DIFF_BYTES = 104448
# Missing parents of a listed directory are created with this mode (like `mkdir -p` with umask 022).
PARENT_MODE = 0o755


def checksum(data):
    return hashlib.sha1(data).hexdigest()


def _mode(problems, where, value):
    if isinstance(value, bool) or not isinstance(value, str):
        problems.append("%s.mode: %r is not an octal string; quote it, e.g. '0644' (YAML reads 0644 unquoted as "
                        "the number 420)" % (where, value))
        return None
    if not MODE_RE.match(value):
        problems.append("%s.mode: %r is not an octal file mode such as '0644'" % (where, value))
        return None
    return int(value, 8)


def _path(problems, where, value, seen):
    if not isinstance(value, str) or not os.path.isabs(value):
        problems.append("%s.path: %r is not an absolute path" % (where, value))
        return None
    norm = os.path.normpath(value)
    if norm == "/":
        problems.append("%s.path: '/' cannot be managed" % where)
        return None
    if norm in seen:
        problems.append("%s.path: %s is listed twice (also %s)" % (where, value, seen[norm]))
        return None
    seen[norm] = where
    return norm


def _secrets(problems, secrets):
    """secret_contents -> {normalized path: text}; names only the keys, never a value."""
    out = {}
    for key, text in (secrets or {}).items():
        if not isinstance(key, str) or not os.path.isabs(key):
            problems.append("secret_contents: the key %r is not an absolute path" % (key,))
        elif not isinstance(text, str):
            problems.append("secret_contents[%s]: must be a string, not %s" % (key, type(text).__name__))
        elif os.path.normpath(key) in out:
            problems.append("secret_contents: %s is given twice (also %s)" % (key, out[os.path.normpath(key)][0]))
        else:
            out[os.path.normpath(key)] = (key, text)
    return out


def validate(directories, files, secrets=None):
    """The entries as given -> (dirs, files): dicts with ``path`` (as given, the result's key),
    ``real`` (normalized), ``mode`` (int) and, for files, ``data`` (bytes) and ``secret``
    (the content came from ``secrets``, keyed by path). Every problem is collected and raised
    at once, before anything is read or written. Pure."""
    problems, seen, dirs, out = [], {}, [], []
    secret = _secrets(problems, secrets)
    for i, entry in enumerate(directories or []):
        where = "directories[%d]" % i
        real, mode = _path(problems, where, entry.get("path"), seen), _mode(problems, where, entry.get("mode"))
        dirs.append(dict(path=entry.get("path"), real=real, mode=mode))
    listed = set()
    for i, entry in enumerate(files or []):
        where = "files[%d]" % i
        real, mode = _path(problems, where, entry.get("path"), seen), _mode(problems, where, entry.get("mode"))
        listed.add(real)
        text = entry.get("content")
        if text is not None and real in secret:
            problems.append("%s: %s has content and a secret_contents entry; give one" % (where, entry.get("path")))
            continue
        if text is None and real not in secret:
            problems.append("%s: %s has no content and no secret_contents entry" % (where, entry.get("path")))
            continue
        if text is None:
            text = secret[real][1]
        elif not isinstance(text, str):
            problems.append("%s.content: must be a string, not %s" % (where, type(text).__name__))
            continue
        out.append(dict(path=entry.get("path"), real=real, mode=mode, data=text.encode("utf-8"), secret=real in secret))
    problems += ["secret_contents: %s is not the path of an entry of files" % key
                 for real, (key, _) in secret.items() if real not in listed]
    if problems:
        raise SwarmOpsError("%d problem(s) in the file set (nothing was written): %s"
                            % (len(problems), "; ".join(problems)), problems=problems)
    return dirs, out


def _stat(path):
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def read(dirs, files):
    """What is on the host: {real path: {kind, mode, data}} (kind None when absent); refuses
    a listed path of the wrong kind and a file whose parent neither exists nor is listed."""
    listed = {d["real"] for d in dirs}
    problems, actual = [], {}
    for entry in dirs:
        st = _stat(entry["real"])
        if st is not None and not stat.S_ISDIR(st.st_mode):
            problems.append("%s exists and is not a directory" % entry["path"])
        actual[entry["real"]] = dict(kind="directory" if st else None, mode=stat.S_IMODE(st.st_mode) if st else None)
    for entry in files:
        st = _stat(entry["real"])
        parent = os.path.dirname(entry["real"])
        if st is not None and not stat.S_ISREG(st.st_mode):
            problems.append("%s exists and is not a regular file" % entry["path"])
            st = None
        elif parent not in listed and not os.path.isdir(parent):
            problems.append("%s: its directory %s does not exist and is not in directories" % (entry["path"], parent))
        data = None
        if st is not None:
            with open(entry["real"], "rb") as handle:
                data = handle.read()
        actual[entry["real"]] = dict(kind="file" if st else None, mode=stat.S_IMODE(st.st_mode) if st else None,
                                     data=data)
    if problems:
        raise SwarmOpsError("%d problem(s) on the host (nothing was written): %s" % (len(problems), "; ".join(problems)),
                            problems=problems)
    return actual


def shown(data, secret):
    """A file's text as --diff shows it: a placeholder for secrets, binary or oversized content."""
    if data is None:
        return ""
    if secret:
        return "(secret, %d bytes)\n" % len(data)
    if len(data) > MAX_DIFF_BYTES:
        return "(%d bytes, too large to show)\n" % len(data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "(binary, %d bytes)\n" % len(data)


def _octal(mode):
    return None if mode is None else "%04o" % mode


def plan(dirs, files, actual):
    """-> Plan: one action per entry (create / update / chmod / unchanged), in the order given
    (directories first); ``before``/``after`` are lists of per-path diffs (Ansible shows each). Pure."""
    result = Plan(before=[], after=[], row=keyed("path", "action"))
    for entry in dirs:
        now = actual[entry["real"]]
        if now["kind"] is None:
            verb = "create"
        else:
            verb = "chmod" if now["mode"] != entry["mode"] else NOOP
        result.add(verb, kind="directory", path=entry["path"], real=entry["real"], mode=entry["mode"])
        if verb != NOOP:
            before = {"state": "directory", "mode": _octal(now["mode"])} if now["kind"] else {"state": "absent"}
            _diff(result, entry["path"], before, {"state": "directory", "mode": _octal(entry["mode"])})
    for entry in files:
        now = actual[entry["real"]]
        if now["kind"] is None:
            verb = "create"
        elif now["data"] != entry["data"]:
            verb = "update"
        else:
            verb = "chmod" if now["mode"] != entry["mode"] else NOOP
        result.add(verb, kind="file", path=entry["path"], real=entry["real"], mode=entry["mode"],
                   data=entry["data"], checksum=checksum(entry["data"]), secret=entry["secret"])
        if verb in ("create", "update"):
            _diff(result, entry["path"], shown(now["data"], entry["secret"]), shown(entry["data"], entry["secret"]))
        if now["kind"] is not None and now["mode"] != entry["mode"]:
            _diff(result, entry["path"], {"mode": _octal(now["mode"])}, {"mode": _octal(entry["mode"])})
    return result


def _diff(result, path, before, after):
    result.before.append(dict(before_header=path, before=before))
    result.after.append(dict(after_header=path, after=after))


def diffs(file_plan):
    """The plan's diff as Ansible's list form: [{before, after, before_header, after_header}, ...]."""
    return [dict(b, **a) for b, a in zip(file_plan.before, file_plan.after)]


def results(file_plan):
    """The module's result keys: ``directories`` and ``files`` keyed by the path as given.
    Never a file's content; a secret file's checksum is the SHA-1 ansible.builtin.copy returns too."""
    out = dict(directories={}, files={})
    for action in file_plan.actions:
        entry = dict(changed=action["action"] != NOOP, mode=_octal(action["mode"]))
        if action["kind"] == "file":
            entry["checksum"] = action["checksum"]
            out["files"][action["path"]] = entry
        else:
            out["directories"][action["path"]] = entry
    return out


def _mkdirs(path, mode):
    """Create ``path`` and its missing parents (PARENT_MODE); ``path`` itself gets ``mode``."""
    missing, level = [], path
    while not os.path.isdir(level):
        missing.append(level)
        level = os.path.dirname(level)
    for level in reversed(missing):
        os.mkdir(level, PARENT_MODE)
        os.chmod(level, mode if level == path else PARENT_MODE)


def _write(mover, action):
    """Atomic replace: a temporary file in the same directory, chmod'ed before it is moved in,
    so new content is never readable under a looser mode, not even for a moment."""
    path = action["real"]
    if os.path.islink(path):  # write through a symlink to its file, as copy with follow=true
        path = os.path.realpath(path)
    existing = _stat(path)
    if existing is not None and stat.S_IMODE(existing.st_mode) != action["mode"]:
        os.chmod(path, action["mode"])
    handle, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".%s." % os.path.basename(path))
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(action["data"])
        os.chmod(tmp, action["mode"])
        if existing is None:
            os.rename(tmp, path)  # a new file: the mode above holds from the first moment
        else:
            mover(tmp, path)  # keeps the file's owner and SELinux context
        os.chmod(path, action["mode"])
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _create_dir(mover, action):
    _mkdirs(action["real"], action["mode"])


def _chmod(mover, action):
    os.chmod(action["real"], action["mode"])


APPLY = {
    ("directory", "create"): _create_dir,
    ("directory", "chmod"): _chmod,
    ("file", "create"): _write,
    ("file", "update"): _write,
    ("file", "chmod"): _chmod,
}


def apply(file_plan, mover):
    """Carry out the plan in order; ``mover(src, dest)`` replaces an existing file (the module's
    atomic_move). Returns the paths written or changed. An OS error names the path, never the content."""
    done = []
    for action in file_plan.actions:
        if action["action"] == NOOP:
            continue
        step = dispatch(APPLY, (action["kind"], action["action"]))
        try:
            step(mover, action)
        except OSError as exc:
            raise SwarmOpsError("Cannot %s %s %s: %s (entries before it were applied: %s)"
                                % (action["action"], action["kind"], action["path"], exc.strerror or exc,
                                   ", ".join(done) or "none"))
        done.append(action["path"])
    return done


def ensure(params, check_mode, diff_mode, mover):
    dirs, files = validate(params.get("directories"), params.get("files"), params.get("secret_contents"))
    file_plan = plan(dirs, files, read(dirs, files))
    result = dict(changed=file_plan.changed, actions=[row for row in file_plan.summary() if row["action"] != NOOP],
                  **results(file_plan))
    if file_plan and not check_mode:
        apply(file_plan, mover)
    if diff_mode:
        result["diff"] = diffs(file_plan)
    return result
