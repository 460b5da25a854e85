# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a host says about its Docker Engine without asking the engine: installed packages
(dpkg), the service's state and start (systemd), configuration files' mtimes, existing users,
and the record of the last successful smoke run (the file itself is read and written with
json_file: a record that cannot be read only means "not verified").

The parsers and ``record_is_current`` are pure (unit-tested); the readers take ``run_command``
(AnsibleModule's) so they run the same commands the role ran as separate tasks before.
Never imports the docker SDK: reading the host costs no SDK import.
"""

from __future__ import annotations

import glob
import grp
import os
import pwd
import time

SERVICE_PROPERTIES = ("ActiveState", "UnitFileState", "ExecMainStartTimestamp", "InvocationID")
RECORD_VERSION = 1
# What a node drained for a restart had before: a node already drained is not drained again.
DRAIN_RECORD_AVAILABILITIES = ("active", "pause")


def parse_dpkg(text):
    """dpkg-query lines '<name>\\t<status abbrev>\\t<version>' -> {name: version} of the installed ones."""
    installed = {}
    for line in (text or "").splitlines():
        fields = line.split("\t")
        if len(fields) == 3 and fields[1].startswith("ii"):
            installed[fields[0]] = fields[2]
    return installed


def parse_start(value):
    """systemctl's --timestamp=unix value ('@1733355555', or '' for never started) -> seconds (int)."""
    value = (value or "").strip().lstrip("@")
    return int(value) if value.isdigit() else 0


def parse_service(text):
    """`systemctl show --property=...` output -> the service's state (pure)."""
    props = dict(line.split("=", 1) for line in (text or "").splitlines() if "=" in line)
    return dict(
        active_state=props.get("ActiveState", ""),
        unit_file_state=props.get("UnitFileState", ""),
        started=parse_start(props.get("ExecMainStartTimestamp")),
        invocation_id=props.get("InvocationID", ""),
    )


def newest_mtime(files):
    return max((entry["mtime"] for entry in files), default=0)


def read_packages(run_command, names):
    if not names:
        return {}
    # rc 1: some name is not known to dpkg at all, which is an answer too.
    rc, out, err = run_command(["dpkg-query", "--show", "--showformat=${Package}\t${db:Status-Abbrev}\t${Version}\n"]
                               + sorted(set(names)))
    if rc not in (0, 1):
        raise OSError("dpkg-query failed (rc=%s): %s" % (rc, err.strip()))
    return parse_dpkg(out)


def read_service(run_command, name):
    rc, out, err = run_command(["systemctl", "show", "--timestamp=unix", "--property=" + ",".join(SERVICE_PROPERTIES),
                                name])
    if rc != 0:
        raise OSError("systemctl show %s failed (rc=%s): %s" % (name, rc, err.strip()))
    return parse_service(out)


def stat_files(patterns):
    """Every existing file matching the (glob) patterns, with its mtime, sorted by path."""
    found = {}
    for pattern in patterns:
        for path in glob.glob(pattern):
            try:
                found[path] = os.stat(path).st_mtime
            except OSError:  # gone since the glob
                continue
    return [dict(path=path, mtime=found[path]) for path in sorted(found)]


def missing_users(names, getpwnam=pwd.getpwnam):
    missing = []
    for name in names:
        try:
            getpwnam(name)
        except KeyError:
            missing.append(name)
    return missing


def verified_for(params):
    """What a smoke run verifies with: its image, how it gets it, its command and expected text."""
    return {key: params[key] for key in ("image", "source", "command", "expect")}


def group_members(name, getgrnam=grp.getgrnam):
    """The group's supplementary members (sorted), None when the group does not exist."""
    try:
        return sorted(getgrnam(name).gr_mem)
    except KeyError:
        return None


def make_record(service, server_version, verified_for, now=None):
    """What a successful smoke run leaves behind: which daemon start it verified, and how."""
    return dict(version=RECORD_VERSION, started=service["started"], invocation_id=service["invocation_id"],
                server_version=server_version, verified_for=verified_for,
                verified_at=int(time.time() if now is None else now))


def drain_record(record):
    """A drain record (written by the docker_engine role before it drains a swarm node for a
    restart, removed once it set the node back) -> {node, availability}, or None when there is
    none or it is not one (pure)."""
    if (isinstance(record, dict) and isinstance(record.get("node"), str) and record["node"]
            and record.get("availability") in DRAIN_RECORD_AVAILABILITIES):
        return {"node": record["node"], "availability": record["availability"]}
    return None


def record_is_current(record, service, verified_for):
    """True when ``record`` verified this very start of the daemon (same start time and systemd
    invocation), still running, with the same image, command and expected text (pure)."""
    return bool(
        isinstance(record, dict)
        and record.get("version") == RECORD_VERSION
        and service.get("active_state") == "active"
        and service.get("started")
        and record.get("started") == service["started"]
        and record.get("invocation_id") == service.get("invocation_id")
        and record.get("verified_for") == verified_for
    )
