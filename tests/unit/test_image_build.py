"""Pure logic of docker_image_build: context hashing, CA injection, references, plans."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ansible_collections.swarmops.core.plugins.module_utils import image_build as ib
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError

COLLECTIONS = Path(__file__).resolve().parents[2] / ".collections"
PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"


@pytest.fixture
def ctx(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM base\nCOPY . /app\n")
    (tmp_path / "app.py").write_text("print('hi')\n")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "util.py").write_text("X = 1\n")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "out.o").write_text("junk")
    (tmp_path / "notes.md").write_text("notes")
    (tmp_path / "keep.md").write_text("keep")
    (tmp_path / ".dockerignore").write_text("# comment\nbuild\n*.md\n!keep.md\n")
    return tmp_path


def digest(path, dockerfile="Dockerfile", ca=None, **options):
    return ib.context_hash(ib.load_context(str(path), dockerfile, ca), **options)


def test_file_list_honours_dockerignore(ctx):
    files = ib.load_context(str(ctx), "Dockerfile", None)["files"]
    assert "app.py" in files and "lib/util.py" in files and "keep.md" in files
    assert "notes.md" not in files and "build" not in files and "build/out.o" not in files


def test_hash_is_stable_and_prefixed(ctx):
    first = digest(ctx)
    assert first == digest(ctx)
    assert first.startswith("sha256:") and len(first) == 7 + 64


def test_ignored_files_do_not_count(ctx):
    before = digest(ctx)
    (ctx / "notes.md").write_text("edited")
    (ctx / "build" / "new.o").write_text("more junk")
    assert digest(ctx) == before


def test_included_file_edit_counts(ctx):
    before = digest(ctx)
    (ctx / "lib" / "util.py").write_text("X = 2\n")
    assert digest(ctx) != before


def test_reincluded_file_counts(ctx):
    before = digest(ctx)
    (ctx / "keep.md").write_text("changed")
    assert digest(ctx) != before


def test_new_and_removed_files_count(ctx):
    before = digest(ctx)
    (ctx / "new.py").write_text("")
    added = digest(ctx)
    assert added != before
    (ctx / "new.py").unlink()
    assert digest(ctx) == before


def test_rename_counts(ctx):
    before = digest(ctx)
    (ctx / "app.py").rename(ctx / "main.py")
    assert digest(ctx) != before


def test_mode_counts_but_mtime_does_not(ctx):
    before = digest(ctx)
    os.utime(ctx / "app.py", (1, 1))
    assert digest(ctx) == before
    os.chmod(ctx / "app.py", 0o755)
    assert digest(ctx) != before


def test_symlink_target_counts(ctx):
    os.symlink("app.py", ctx / "link")
    before = digest(ctx)
    os.unlink(ctx / "link")
    os.symlink("lib/util.py", ctx / "link")
    assert digest(ctx) != before


def test_dockerfile_counts_even_when_ignored(ctx):
    (ctx / ".dockerignore").write_text("Dockerfile\n")
    before = digest(ctx)
    (ctx / "Dockerfile").write_text("FROM base\nRUN true\n")
    assert digest(ctx) != before


def test_dockerfile_outside_the_context_counts(ctx, tmp_path_factory):
    outside = tmp_path_factory.mktemp("df") / "Dockerfile.prod"
    outside.write_text("FROM base\n")
    before = digest(ctx, dockerfile=str(outside))
    outside.write_text("FROM base\nRUN true\n")
    assert digest(ctx, dockerfile=str(outside)) != before


def test_dockerfile_counts_by_content_not_by_name(ctx):
    (ctx / "Dockerfile.alt").write_text("FROM base\nCOPY . /app\n")
    assert digest(ctx) == digest(ctx, dockerfile="Dockerfile.alt")
    (ctx / "Dockerfile.alt").write_text("FROM other\nCOPY . /app\n")
    assert digest(ctx) != digest(ctx, dockerfile="Dockerfile.alt")


@pytest.mark.parametrize("options", [
    dict(build_args={"A": "1"}),
    dict(target="prod"),
    dict(labels={"team": "x"}),
    dict(platform="linux/arm64"),
])
def test_build_options_count(ctx, options):
    assert digest(ctx, **options) != digest(ctx)


def test_build_arg_value_counts_and_order_does_not(ctx):
    assert digest(ctx, build_args={"A": "1"}) != digest(ctx, build_args={"A": "2"})
    assert digest(ctx, build_args={"A": "1", "B": "2"}) == digest(ctx, build_args={"B": "2", "A": "1"})


def test_ca_bundle_counts(ctx, tmp_path_factory):
    ca = tmp_path_factory.mktemp("ca") / "ca.crt"
    ca.write_text(PEM)
    with_ca = digest(ctx, ca=[str(ca)])
    assert with_ca != digest(ctx)
    ca.write_text(PEM + PEM)
    assert digest(ctx, ca=[str(ca)]) != with_ca


def test_missing_context_and_dockerfile_name_the_path(tmp_path):
    with pytest.raises(SwarmOpsError, match="does-not-exist"):
        ib.load_context(str(tmp_path / "does-not-exist"), "Dockerfile", None)
    with pytest.raises(SwarmOpsError, match=r"Dockerfile.*not found"):
        ib.load_context(str(tmp_path), "Dockerfile", None)


def test_bad_ca_files_are_named(ctx, tmp_path_factory):
    d = tmp_path_factory.mktemp("ca")
    with pytest.raises(SwarmOpsError, match="missing.crt"):
        ib.load_context(str(ctx), "Dockerfile", [str(d / "missing.crt")])
    (d / "junk.crt").write_text("not a certificate")
    with pytest.raises(SwarmOpsError, match="junk.crt.*no PEM"):
        ib.load_context(str(ctx), "Dockerfile", [str(d / "junk.crt")])


CERT_A = "-----BEGIN CERTIFICATE-----\nQUFB\n-----END CERTIFICATE-----"
CERT_B = "-----BEGIN CERTIFICATE-----\nQkJC\n-----END CERTIFICATE-----"
KEY = "-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----"


def test_ca_injection_copies_only_certificate_blocks(ctx, tmp_path_factory):
    d = tmp_path_factory.mktemp("ca")
    (d / "bundle.crt").write_text("# a comment\n%s\nstray text\n-----BEGIN X509 CRL-----\nQ1JM\n"
                                  "-----END X509 CRL-----\n%s\n" % (CERT_A, CERT_B))
    (d / "one.pem").write_text(CERT_A)
    extra = dict(ib.load_context(str(ctx), "Dockerfile", [str(d / "bundle.crt"), str(d / "one.pem")])["extra_files"])
    assert extra[ib.SENT_CA_BUNDLE] == "%s\n%s\n%s\n" % (CERT_A, CERT_B, CERT_A)


@pytest.mark.parametrize("content", [
    CERT_A + "\n" + KEY + "\n",
    KEY.replace("PRIVATE KEY", "RSA PRIVATE KEY") + "\n" + CERT_A,
    CERT_A + "\n" + KEY.replace("PRIVATE KEY", "EC PRIVATE KEY"),
    CERT_A + "\n-----BEGIN ENCRYPTED PRIVATE KEY-----\nS0VZ\n",  # a key block without its end line
])
def test_a_ca_file_with_a_private_key_is_refused(ctx, tmp_path_factory, content):
    d = tmp_path_factory.mktemp("ca")
    (d / "mixed.pem").write_text(content)
    with pytest.raises(SwarmOpsError) as info:
        ib.load_context(str(ctx), "Dockerfile", [str(d / "mixed.pem")])
    assert "mixed.pem holds a private key" in str(info.value)


def test_every_bad_ca_file_is_named_at_once(ctx, tmp_path_factory):
    d = tmp_path_factory.mktemp("ca")
    (d / "key.pem").write_text(CERT_A + "\n" + KEY)
    (d / "junk.crt").write_text("junk")
    (d / "latin1.crt").write_bytes(b"caf\xe9 " + CERT_A.encode())
    with pytest.raises(SwarmOpsError) as info:
        ib.load_context(str(ctx), "Dockerfile", [str(d / n) for n in ("key.pem", "junk.crt", "latin1.crt")])
    message = str(info.value)
    assert message.startswith("3 problems with ca_certificates")
    assert "key.pem holds a private key" in message and "junk.crt holds no PEM" in message
    assert "latin1.crt is not UTF-8" in message


@pytest.mark.parametrize("name", ["Dockerfile", ".dockerignore"])
def test_a_non_utf8_dockerfile_or_dockerignore_is_named(ctx, name):
    (ctx / name).write_bytes(b"# caf\xe9\nFROM base\n")
    with pytest.raises(SwarmOpsError) as info:
        ib.load_context(str(ctx), "Dockerfile", None)
    assert "%s %s is not UTF-8 text (invalid byte 0xe9 at offset 5)" % (name, ctx / name) in str(info.value)


def test_a_dockerfile_that_is_a_directory_is_named(ctx):
    (ctx / "Dockerfile.d").mkdir()
    with pytest.raises(SwarmOpsError, match="Dockerfile.d not found"):
        ib.load_context(str(ctx), "Dockerfile.d", None)


@pytest.mark.parametrize("case, message", [
    ("no Dockerfile", "Dockerfile files/app/Dockerfile not found."),
    ("latin-1 Dockerfile", "Dockerfile files/app/Dockerfile is not UTF-8 text"),
    ("latin-1 .dockerignore", ".dockerignore files/app/.dockerignore is not UTF-8 text"),
])
def test_errors_name_the_context_by_its_given_name(ctx, case, message):
    """With src the module reads a temporary copy: errors name src, never the copy's path."""
    if case == "no Dockerfile":
        (ctx / "Dockerfile").unlink()
    else:
        (ctx / case.split()[1]).write_bytes(b"# caf\xe9\nFROM base\n")
    with pytest.raises(SwarmOpsError) as info:
        ib.load_context(str(ctx), "Dockerfile", None, name="files/app")
    assert message in str(info.value) and str(ctx) not in str(info.value)
    assert str(ctx) not in repr(info.value.details)


def test_an_absolute_dockerfile_outside_the_context_keeps_its_path(ctx, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("df") / "Dockerfile.web"
    with pytest.raises(SwarmOpsError, match="Dockerfile %s not found" % elsewhere):
        ib.load_context(str(ctx), str(elsewhere), None, name="files/app")


UNREADABLE_SCRIPT = """
import os, sys
sys.path.insert(0, sys.argv[2])
from ansible_collections.swarmops.core.plugins.module_utils import image_build as ib
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError
import docker.utils.build  # the module has imported the SDK (connect) before it reads the context
if os.geteuid() == 0:  # root reads every file: drop to nobody once the code is imported
    os.setgroups([]); os.setgid(65534); os.setuid(65534)
try:
    ib.context_hash(ib.load_context(sys.argv[1], "Dockerfile", None, name=sys.argv[3]))
except SwarmOpsError as exc:
    print(exc)
"""


def test_unreadable_context_files_are_listed_at_once():
    root = tempfile.mkdtemp(prefix="sotest-unreadable-")
    try:
        os.chmod(root, 0o755)
        for name, mode in (("Dockerfile", 0o644), ("app.py", 0o600), ("keep.md", 0o600), ("ok.txt", 0o644)):
            with open(os.path.join(root, name), "w") as f:
                f.write("FROM base\n" if name == "Dockerfile" else "x\n")
            os.chmod(os.path.join(root, name), mode)
        proc = subprocess.run([sys.executable, "-c", UNREADABLE_SCRIPT, root, str(COLLECTIONS), "files/app"],
                              capture_output=True, text=True)
    finally:
        shutil.rmtree(root)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "cannot be read: app.py (Permission denied), keep.md (Permission denied)" in proc.stdout, proc.stdout
    assert "Build context files/app has files" in proc.stdout and root not in proc.stdout, proc.stdout


def test_sent_dockerignore_drops_only_the_generated_dockerfile(ctx):
    extra = dict(ib.load_context(str(ctx), "Dockerfile", None)["extra_files"])
    assert extra[".dockerignore"].splitlines() == ["build", "*.md", "!keep.md", ib.SENT_DOCKERFILE]
    assert extra[ib.SENT_DOCKERFILE] == "FROM base\nCOPY . /app\n"


def test_sent_dockerignore_without_a_user_file_drops_itself(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM base\n")
    extra = dict(ib.load_context(str(tmp_path), "Dockerfile", None)["extra_files"])
    assert extra[".dockerignore"].splitlines() == [ib.SENT_DOCKERFILE, ".dockerignore"]


def test_inject_ca_after_every_from_and_as_args_only():
    text = "ARG BASE=x\nFROM ${BASE} AS build\nRUN make\nfrom scratch\nCOPY --from=build /a /a\n"
    out = ib.inject_ca(text).splitlines()
    froms = [i for i, line in enumerate(out) if line.lower().startswith("from")]
    assert len(froms) == 2
    for i in froms:
        assert out[i + 1] == "COPY %s %s" % (ib.SENT_CA_BUNDLE, ib.CA_PATH_IN_IMAGE)
        assert "ARG PIP_CERT=%s" % ib.CA_PATH_IN_IMAGE in out[i + 2:i + 2 + len(ib.CA_ENV_VARS)]
    assert out[0] == "ARG BASE=x"
    assert not any(line.startswith("ENV") for line in out)


def test_inject_ca_respects_continuation_lines_and_escape_directive():
    out = ib.inject_ca("FROM \\\n  base\nRUN x\n").splitlines()
    assert out[:3] == ["FROM \\", "  base", "COPY %s %s" % (ib.SENT_CA_BUNDLE, ib.CA_PATH_IN_IMAGE)]
    out = ib.inject_ca("# escape=`\nFROM `\n  base\nRUN x\n").splitlines()
    assert out[3].startswith("COPY ")


@pytest.mark.parametrize("ref, expected", [
    ("app", ("app", "latest")),
    ("app:1.0", ("app", "1.0")),
    ("reg:5000/team/app", ("reg:5000/team/app", "latest")),
    ("reg:5000/team/app:v2", ("reg:5000/team/app", "v2")),
])
def test_split_reference(ref, expected):
    assert ib.split_reference(ref) == expected


def test_registry_of():
    assert ib.registry_of("reg.example.com/app") == "reg.example.com"
    assert ib.registry_of("127.0.0.1:5000/app") == "127.0.0.1:5000"
    assert ib.registry_of("localhost/app") == "localhost"
    assert ib.registry_of("team/app") is None
    assert ib.registry_of("app") is None


def test_references():
    assert ib.references("reg:5000/app", "1.0", ["latest", "other/app:x", "mirror:5000/app"]) == [
        "reg:5000/app:1.0", "reg:5000/app:latest", "other/app:x", "mirror:5000/app:latest"]
    with pytest.raises(SwarmOpsError, match="without a tag"):
        ib.references("app:1.0", "latest", [])


def _image(image_id, context_hash=None, repo_digests=()):
    labels = {ib.HASH_LABEL: context_hash} if context_hash else {}
    return {"Id": image_id, "Config": {"Labels": labels}, "RepoDigests": list(repo_digests)}


def test_plan_build():
    refs = ["app:1", "app:latest"]
    same = {"app:1": _image("sha256:a", "h1"), "app:latest": _image("sha256:a", "h1")}
    assert ib.plan_build(same, refs, "h1", force=False) == (False, [], "h1")
    assert ib.plan_build(same, refs, "h1", force=True) == (True, ["app:latest"], "h1")
    assert ib.plan_build(same, refs, "h2", force=False) == (True, ["app:latest"], "h1")
    stale_tag = {"app:1": _image("sha256:a", "h1"), "app:latest": _image("sha256:old", "h0")}
    assert ib.plan_build(stale_tag, refs, "h1", force=False) == (False, ["app:latest"], "h1")
    absent = {"app:1": None, "app:latest": None}
    assert ib.plan_build(absent, refs, "h1", force=False) == (True, ["app:latest"], None)
    unlabelled = {"app:1": _image("sha256:a"), "app:latest": None}
    assert ib.plan_build(unlabelled, refs, "h1", force=False)[0] is True


def test_push_needed():
    image = _image("sha256:a", "h", ["reg:5000/app@sha256:d1", "mirror/app@sha256:d2"])
    assert ib.push_needed(image, "reg:5000/app", "sha256:d1") is False
    assert ib.push_needed(image, "reg:5000/app", "sha256:other") is True
    assert ib.push_needed(image, "reg:5000/app", None) is True
    # the same digest under another repository does not count
    assert ib.push_needed(image, "reg:5000/app", "sha256:d2") is True


def test_auth_config_defaults_the_registry_from_the_name():
    auth = ib.auth_config({"username": "u", "password": "p", "registry": None}, "reg:5000/app")
    assert auth == {"username": "u", "password": "p", "serveraddress": "reg:5000"}
    assert ib.auth_config(None, "reg:5000/app") is None
