"""file_set's pure logic: validation (every problem at once), the plan and its diff, checksums,
and the contract that a secret's content never reaches a result, a diff or an error."""

from __future__ import annotations

import hashlib
import json

import pytest

from ansible_collections.swarmops.core.plugins.module_utils import file_set
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError

SECRET = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ib2R5LWxpbmU=\n-----END PRIVATE KEY-----\n"


def problems(directories, files, secrets=None):
    with pytest.raises(SwarmOpsError) as err:
        file_set.validate(directories, files, secrets)
    return err.value.details["problems"], str(err.value)


def test_checksum_is_copys_sha1():
    assert file_set.checksum(b"hello\n") == hashlib.sha1(b"hello\n").hexdigest()


def test_validate_normalizes_and_keeps_the_path_as_given():
    dirs, files = file_set.validate([{"path": "/srv/a/", "mode": "0755"}],
                                    [{"path": "/srv/a//f", "mode": "644", "content": "x\n"},
                                     {"path": "/srv/a/k", "mode": "0600"}], {"/srv/a//k": "k"})
    assert dirs == [dict(path="/srv/a/", real="/srv/a", mode=0o755)]
    assert files[0] == dict(path="/srv/a//f", real="/srv/a/f", mode=0o644, data=b"x\n", secret=False)
    assert files[1]["secret"] and files[1]["data"] == b"k"


def test_validate_collects_every_problem_naming_the_entry():
    found, msg = problems(
        [{"path": "rel/dir", "mode": "0755"}, {"path": "/srv/d", "mode": 493}, {"path": "/srv/e", "mode": "0999"}],
        [{"path": "/srv/d/", "mode": "0644", "content": "x"},
         {"path": "/srv/f", "mode": "0644"},
         {"path": "/srv/g", "mode": "0644", "content": "x"},
         {"path": "/srv/h", "mode": "0644", "content": 3}],
        {"/srv/g": SECRET, "/srv/none": SECRET, "rel": SECRET, "/srv/i": 3})
    assert found == [
        "secret_contents: the key 'rel' is not an absolute path",
        "secret_contents[/srv/i]: must be a string, not int",
        "directories[0].path: 'rel/dir' is not an absolute path",
        "directories[1].mode: 493 is not an octal string; quote it, e.g. '0644' (YAML reads 0644 unquoted as the number 420)",
        "directories[2].mode: '0999' is not an octal file mode such as '0644'",
        "files[0].path: /srv/d/ is listed twice (also directories[1])",
        "files[1]: /srv/f has no content and no secret_contents entry",
        "files[2]: /srv/g has content and a secret_contents entry; give one",
        "files[3].content: must be a string, not int",
        "secret_contents: /srv/none is not the path of an entry of files",
    ]
    assert msg.startswith("10 problem(s) in the file set (nothing was written): ")
    assert "PRIVATE" not in msg and "c2VjcmV0" not in msg


def test_root_cannot_be_managed():
    found, _ = problems([{"path": "/", "mode": "0755"}], [])
    assert found == ["directories[0].path: '/' cannot be managed"]


def test_a_secret_path_given_twice():
    found, msg = problems([], [{"path": "/srv/k", "mode": "0600"}], {"/srv/k": SECRET, "/srv//k": SECRET})
    assert found == ["secret_contents: /srv//k is given twice (also /srv/k)"] and "c2VjcmV0" not in msg


def _plan(actual, secret=False):
    entry = {"path": "/srv/d/f", "mode": "0600"}
    dirs, files = file_set.validate([{"path": "/srv/d", "mode": "0700"}],
                                    [entry if secret else dict(entry, content=SECRET)],
                                    {"/srv/d/f": SECRET} if secret else {})
    return file_set.plan(dirs, files, actual)


def test_plan_creates_what_is_missing_with_diffs():
    plan = _plan({"/srv/d": dict(kind=None, mode=None), "/srv/d/f": dict(kind=None, mode=None, data=None)})
    assert plan.changed and plan.verbs() == ["create", "create"]
    assert file_set.diffs(plan) == [
        dict(before_header="/srv/d", after_header="/srv/d", before={"state": "absent"},
             after={"state": "directory", "mode": "0700"}),
        dict(before_header="/srv/d/f", after_header="/srv/d/f", before="", after=SECRET)]


def test_plan_nothing_to_do_and_results():
    data = SECRET.encode()
    plan = _plan({"/srv/d": dict(kind="directory", mode=0o700), "/srv/d/f": dict(kind="file", mode=0o600, data=data)})
    assert not plan.changed and plan.verbs() == ["unchanged", "unchanged"] and file_set.diffs(plan) == []
    assert file_set.results(plan) == {
        "directories": {"/srv/d": {"changed": False, "mode": "0700"}},
        "files": {"/srv/d/f": {"changed": False, "mode": "0600", "checksum": hashlib.sha1(data).hexdigest()}}}


def test_plan_mode_drift_and_content_change():
    plan = _plan({"/srv/d": dict(kind="directory", mode=0o755), "/srv/d/f": dict(kind="file", mode=0o644, data=b"old\n")})
    assert plan.verbs() == ["chmod", "update"]
    assert file_set.diffs(plan)[1:] == [
        dict(before_header="/srv/d/f", after_header="/srv/d/f", before="old\n", after=SECRET),
        dict(before_header="/srv/d/f", after_header="/srv/d/f", before={"mode": "0644"}, after={"mode": "0600"})]
    chmod_only = _plan({"/srv/d": dict(kind="directory", mode=0o700),
                        "/srv/d/f": dict(kind="file", mode=0o644, data=SECRET.encode())})
    assert chmod_only.verbs() == ["unchanged", "chmod"]


def test_a_secret_never_reaches_the_diff_or_the_results():
    plan = _plan({"/srv/d": dict(kind="directory", mode=0o700),
                  "/srv/d/f": dict(kind="file", mode=0o600, data=b"an older secret value\n")}, secret=True)
    assert plan.verbs() == ["unchanged", "update"]
    assert file_set.diffs(plan) == [dict(before_header="/srv/d/f", after_header="/srv/d/f",
                                         before="(secret, 22 bytes)\n", after="(secret, %d bytes)\n" % len(SECRET))]
    shown = json.dumps([file_set.diffs(plan), file_set.results(plan), plan.summary()])
    assert "c2VjcmV0" not in shown and "older secret" not in shown


@pytest.mark.parametrize("data, secret, text", [
    (None, False, ""),
    (b"plain\n", False, "plain\n"),
    (b"\xff\xfe", False, "(binary, 2 bytes)\n"),
    (b"x" * (file_set.MAX_DIFF_BYTES + 1), False, "(%d bytes, too large to show)\n" % (file_set.MAX_DIFF_BYTES + 1)),
    (b"key", True, "(secret, 3 bytes)\n"),
])
def test_shown(data, secret, text):
    assert file_set.shown(data, secret) == text
