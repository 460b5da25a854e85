"""docker_image_build against the real local engine and a local registry (127.0.0.1 only)."""

from __future__ import annotations

import shutil

import docker
import pytest
from images_support import PASSWORD, PREFIX, USER, engine, registry, registry_image  # noqa: F401 - fixtures


@pytest.fixture
def context(tmp_path, debian_base_image):
    (tmp_path / "Dockerfile").write_text(
        "FROM %s\nARG GREETING=hello\nCOPY . /app\nRUN echo \"$GREETING\" > /greeting\n" % debian_base_image)
    (tmp_path / "app.txt").write_text("one\n")
    (tmp_path / "scratch.log").write_text("ignored\n")
    (tmp_path / ".dockerignore").write_text("*.log\n")
    return tmp_path


def args(name, path, **extra):
    base = dict(name=name, path=str(path), labels=dict(sotest=PREFIX))
    base.update(extra)
    return base


def test_build_is_idempotent_and_rebuilds_on_content_or_arg_change(ansible_module, engine, context):
    name = PREFIX + "-idem"
    result, out = ansible_module("docker_image_build", args(name, context), check=True, diff=True)
    assert result["changed"] is True and result["actions"] == ["build %s:latest" % name], out
    assert not engine.images(name=name), "check mode must not build"

    first, out = ansible_module("docker_image_build", args(name, context), diff=True)
    assert first["changed"] is True, out
    image = engine.inspect_image(name + ":latest")
    assert image["Id"] == first["image_id"]
    assert image["Config"]["Labels"]["io.swarmops.context-hash"] == first["context_hash"]

    again, out = ansible_module("docker_image_build", args(name, context))
    assert again["changed"] is False and again["actions"] == [], out
    assert again["image_id"] == first["image_id"] and "build_log" not in again

    check, out = ansible_module("docker_image_build", args(name, context), check=True)
    assert check["changed"] is False, out

    (context / "scratch.log").write_text("still ignored\n")
    ignored, out = ansible_module("docker_image_build", args(name, context))
    assert ignored["changed"] is False, out

    (context / "app.txt").write_text("two\n")
    edited, out = ansible_module("docker_image_build", args(name, context))
    assert edited["changed"] is True and edited["image_id"] != first["image_id"], out
    assert edited["context_hash"] != first["context_hash"]

    arg, out = ansible_module("docker_image_build", args(name, context, build_args=dict(GREETING="bonjour")))
    assert arg["changed"] is True and arg["image_id"] != edited["image_id"], out
    greeting = docker.from_env().containers.run(name + ":latest", ["cat", "/greeting"], remove=True)
    assert greeting == b"bonjour\n"

    forced, out = ansible_module("docker_image_build", args(name, context, build_args=dict(GREETING="bonjour"),
                                                            force=True))
    assert forced["changed"] is True and forced["actions"] == ["build %s:latest" % name], out


def test_tags_and_platform(ansible_module, engine, context):
    name = PREFIX + "-tags"
    platform = "linux/" + engine.version()["Arch"]
    params = args(name, context, tag="1.0", tags=["latest", PREFIX + "-other/app:x"], platform=platform)
    result, out = ansible_module("docker_image_build", params)
    assert result["changed"] is True, out
    image = engine.inspect_image(name + ":1.0")
    assert "%s/%s" % (image["Os"], image["Architecture"]) == platform
    ids = {ref: engine.inspect_image(ref)["Id"] for ref in result["references"]}
    assert set(ids) == {name + ":1.0", name + ":latest", PREFIX + "-other/app:x"}
    assert set(ids.values()) == {result["image_id"]}

    engine.remove_image(name + ":latest")
    retag, out = ansible_module("docker_image_build", params)
    assert retag["changed"] is True and retag["actions"] == ["tag %s:latest" % name], out
    again, out = ansible_module("docker_image_build", params)
    assert again["changed"] is False, out


def test_failed_build_names_the_step_and_shows_the_log(ansible_module, context, debian_base_image):
    (context / "Dockerfile.bad").write_text(
        "FROM %s\nRUN echo before-the-failure\nRUN exit 3\nRUN echo never\n" % debian_base_image)
    result, out = ansible_module("docker_image_build", args(PREFIX + "-bad", context, dockerfile="Dockerfile.bad",
                                                            nocache=True))
    assert result["failed"] is True, out
    assert "Step 3/" in result["msg"] and "RUN exit 3" in result["msg"] and "non-zero code: 3" in result["msg"]
    assert result["failed_step"].startswith("Step 3/")
    assert "before-the-failure" in result["build_log"]


@pytest.mark.parametrize("extra, needle", [
    (dict(path="/nonexistent/sotest-images-ctx"), "/nonexistent/sotest-images-ctx"),
    (dict(dockerfile="Missing.Dockerfile"), "Missing.Dockerfile"),
])
def test_bad_input_is_a_clear_error(ansible_module, context, extra, needle):
    result, out = ansible_module("docker_image_build", dict(args(PREFIX + "-err", context), **extra))
    assert result["failed"] is True and needle in result["msg"], out


@pytest.mark.parametrize("write, needle", [
    (lambda ctx: (ctx / "Dockerfile").write_bytes(b"# caf\xe9\nFROM scratch\n"), "is not UTF-8 text"),
    (lambda ctx: (ctx / ".dockerignore").write_bytes(b"*.log\n\xff\n"), ".dockerignore"),
    (lambda ctx: (ctx / "ca.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nQUFB\n-----END CERTIFICATE-----\n"
        "-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n"), "holds a private key"),
])
def test_bad_files_fail_cleanly_and_build_nothing(ansible_module, engine, context, write, needle):
    write(context)
    name = PREFIX + "-badfile"
    extra = dict(ca_certificates=[str(context / "ca.pem")]) if (context / "ca.pem").exists() else {}
    for check in (True, False):
        result, out = ansible_module("docker_image_build", args(name, context, **extra), check=check, verbosity=3)
        assert result["failed"] is True and needle in result["msg"], out
        assert "Traceback" not in out and "S0VZ" not in out
    assert not engine.images(name=name)


def test_ca_certificates_reach_run_steps_but_not_the_image_config(ansible_module, engine, context, debian_base_image,
                                                                  tmp_path_factory):
    ca = tmp_path_factory.mktemp("ca") / "extra-ca.crt"
    shutil.copy("/etc/ssl/certs/ca-certificates.crt", ca)
    # Each RUN proves the bundle is there and the tools' variables point to it.
    (context / "Dockerfile").write_text(
        "FROM %s\nRUN grep -q 'BEGIN CERTIFICATE' \"$PIP_CERT\" && test \"$SSL_CERT_FILE\" = \"$PIP_CERT\"\n"
        "COPY . /app\n" % debian_base_image)
    name = PREFIX + "-ca"
    result, out = ansible_module("docker_image_build", args(name, context, ca_certificates=[str(ca)]))
    assert result["changed"] is True, out
    env = engine.inspect_image(name)["Config"]["Env"] or []
    assert not [e for e in env if e.startswith(("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"))]
    again, out = ansible_module("docker_image_build", args(name, context, ca_certificates=[str(ca)]))
    assert again["changed"] is False, out
    # The generated Dockerfile is dropped from the context; the user's files are copied as usual.
    listing = docker.from_env().containers.run(name, ["ls", "-A", "/app"], remove=True).decode().split()
    assert ".swarmops.Dockerfile" not in listing and "app.txt" in listing and "scratch.log" not in listing

    # Without a .dockerignore of the user's, none of the generated files but the CA bundle reach COPY .
    (context / ".dockerignore").unlink()
    (context / "scratch.log").unlink()
    result, out = ansible_module("docker_image_build", args(name, context, ca_certificates=[str(ca)]))
    assert result["changed"] is True, out
    listing = docker.from_env().containers.run(name, ["ls", "-A", "/app"], remove=True).decode().split()
    assert sorted(listing) == [".swarmops-build-ca.crt", "Dockerfile", "app.txt"]


# ------------------------------------------------------------------ push

def test_push_returns_the_digest_and_is_idempotent(ansible_module, engine, context, registry):
    name = registry + "/" + PREFIX + "/push"
    auth = dict(username=USER, password=PASSWORD)
    params = args(name, context, tag="1.0", tags=["latest"], push=True, registry_auth=auth)

    check, out = ansible_module("docker_image_build", params, check=True)
    assert check["changed"] is True and "push %s:1.0" % name in check["actions"], out
    assert not engine.images(name=name)

    first, out = ansible_module("docker_image_build", params, verbosity=3)
    assert first["changed"] is True, out
    assert PASSWORD not in out
    assert first["digest"].startswith("sha256:")
    remote = engine.inspect_distribution(name + ":1.0", auth_config=dict(auth, serveraddress=registry))
    assert remote["Descriptor"]["digest"] == first["digest"] == first["digests"][name + ":latest"]
    assert "%s@%s" % (name, first["digest"]) in engine.inspect_image(name + ":1.0")["RepoDigests"]

    again, out = ansible_module("docker_image_build", params, verbosity=3)
    assert again["changed"] is False and again["actions"] == [], out
    assert again["digest"] == first["digest"] and PASSWORD not in out

    check, out = ansible_module("docker_image_build", params, check=True)
    assert check["changed"] is False, out

    # A rebuilt image differs from the registry's manifest: pushed again, new digest.
    (context / "app.txt").write_text("pushed twice\n")
    second, out = ansible_module("docker_image_build", params)
    assert second["changed"] is True and "push %s:1.0" % name in second["actions"], out
    assert second["digest"] != first["digest"]


def test_wrong_password_is_a_clear_error_without_the_password(ansible_module, context, registry):
    name = registry + "/" + PREFIX + "/denied"
    wrong = "sotest-wrong-password-x9"
    params = args(name, context, push=True, registry_auth=dict(username=USER, password=wrong))
    for check in (True, False):
        result, out = ansible_module("docker_image_build", params, check=check, verbosity=3)
        assert result["failed"] is True, out
        assert "refused the credentials of user %s" % USER in result["msg"] and registry in result["msg"]
        assert wrong not in out
    assert not docker.APIClient(version="auto").images(name=name), "nothing is built before the credentials work"


def test_push_without_credentials_names_the_registry(ansible_module, context, registry):
    result, out = ansible_module("docker_image_build", args(registry + "/" + PREFIX + "/anon", context, push=True))
    assert result["failed"] is True and registry in result["msg"] and "none given" in result["msg"], out


def test_src_carries_the_context_from_the_controller(ansible_module, engine, context):
    name = PREFIX + "-src"
    params = dict(name=name, src=str(context), labels=dict(sotest=PREFIX))
    check, out = ansible_module("docker_image_build", params, check=True)
    assert check["changed"] is True and not engine.images(name=name), out

    first, out = ansible_module("docker_image_build", params)
    assert first["changed"] is True, out
    again, out = ansible_module("docker_image_build", params)
    assert again["changed"] is False and again["image_id"] == first["image_id"], out
    assert "_context_archive" not in out or "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in out
    # The same directory given as path (on the build host, here the same machine) hashes the same.
    by_path, out = ansible_module("docker_image_build", args(name, context))
    assert by_path["changed"] is False and by_path["context_hash"] == first["context_hash"], out

    (context / "app.txt").write_text("changed\n")
    check, out = ansible_module("docker_image_build", params, check=True)
    assert check["changed"] is True, out
    edited, out = ansible_module("docker_image_build", params)
    assert edited["changed"] is True and edited["image_id"] != first["image_id"], out


@pytest.mark.parametrize("extra, needle", [
    (dict(src="/nonexistent/sotest-context"), "src /nonexistent/sotest-context: Could not find"),
    (dict(src="/etc/hostname"), "is not a directory"),
    (dict(src="/tmp", path="/tmp"), "mutually exclusive"),
])
def test_bad_src_is_a_clear_error(ansible_module, engine, extra, needle):
    result, out = ansible_module("docker_image_build", dict(name=PREFIX + "-badsrc", **extra))
    assert result["failed"] is True and needle in result["msg"], out
    assert not engine.images(name=PREFIX + "-badsrc")


def test_src_errors_name_src_not_its_copy(ansible_module, engine, tmp_path):
    (tmp_path / "app.txt").write_text("no Dockerfile here\n")
    result, out = ansible_module("docker_image_build", dict(name=PREFIX + "-badsrc", src=str(tmp_path)))
    assert result["failed"] is True and "Dockerfile %s/Dockerfile not found." % tmp_path in result["msg"], out
    assert result["dockerfile"] == "%s/Dockerfile" % tmp_path and "swarmops-context" not in out, out
    assert not engine.images(name=PREFIX + "-badsrc")
