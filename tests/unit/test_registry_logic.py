"""Pure logic behind the registry and app_image roles' modules."""

from __future__ import annotations

import datetime

import bcrypt
import pytest

from ansible_collections.swarmops.core.plugins.module_utils import container, docker_auth, htpasswd, x509
from ansible_collections.swarmops.core.plugins.module_utils.http_probe import missing_expectations
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError

# ---------------------------------------------------------------- x509


def test_parse_sans_detects_ips_and_prefixes():
    assert x509.parse_sans(["Reg.Lab", "IP:10.0.0.1", "DNS:localhost", "::1", "10.0.0.1"]) == [
        ("DNS", "localhost"), ("DNS", "reg.lab"), ("IP", "10.0.0.1"), ("IP", "::1")]
    with pytest.raises(SwarmOpsError):
        x509.parse_sans(["  "])


@pytest.fixture(scope="module")
def pki():
    sans = x509.parse_sans(["reg.lab", "127.0.0.1"])
    ca, ca_key = x509.issue_ca("test CA", 365, sans)
    cert, key = x509.issue_cert(ca, ca_key, "reg.lab", sans, 90)
    return dict(ca_cert=ca, ca_key=ca_key, cert=cert, key=key), sans


def test_plan_keeps_a_valid_pair(pki):
    actual, sans = pki
    assert x509.plan(actual, "reg.lab", sans, 30) == (None, None)
    assert x509.cert_sans(actual["cert"]) == sans


def test_plan_reasons(pki):
    actual, sans = pki
    assert x509.plan(dict(actual, ca_cert=None), "reg.lab", sans, 30) == ("no CA yet", "new CA")
    assert x509.plan(dict(actual, cert=None), "reg.lab", sans, 30) == (None, "no certificate yet")
    assert x509.plan(actual, "reg.lab", x509.parse_sans(["reg.lab"]), 30)[1] == "subject alternative names differ"
    assert x509.plan(actual, "reg.lab", x509.parse_sans(["other"]), 30) == (
        "the CA's name constraints do not cover other", "new CA")
    assert x509.plan(actual, "other", sans, 30)[1] == "common name differs"
    other_ca, other_key = x509.issue_ca("other CA", 365, sans)
    assert x509.plan(dict(actual, ca_cert=other_ca, ca_key=other_key), "reg.lab", sans, 30)[1] == "signed by another CA"
    assert x509.plan(dict(actual, ca_key=other_key), "reg.lab", sans, 30)[0].startswith("the CA key does not match")
    _, stray_key = x509.issue_cert(actual["ca_cert"], actual["ca_key"], "reg.lab", sans, 90)
    assert x509.plan(dict(actual, key=stray_key), "reg.lab", sans, 30)[1] == "the key does not match the certificate"


def test_the_ca_is_constrained_to_the_registry_names(pki):
    actual, sans = pki
    ext = actual["ca_cert"].extensions.get_extension_for_class(x509.x509.NameConstraints)
    assert ext.critical
    assert x509.ca_permits(actual["ca_cert"]) == [("DNS", "reg.lab"), ("IP", "127.0.0.1/32")]
    permits = x509.ca_permits(actual["ca_cert"])
    assert x509.not_permitted(permits, x509.parse_sans(["reg.lab", "sub.reg.lab", "127.0.0.1"])) == []
    assert x509.not_permitted(permits, x509.parse_sans(["evilreg.lab", "bank.example", "127.0.0.2"])) == [
        "bank.example", "evilreg.lab", "127.0.0.2"]


def test_an_unconstrained_ca_is_reissued(pki):
    actual, sans = pki
    loose_ca, loose_key = x509.issue_ca("old CA", 365)
    assert x509.ca_permits(loose_ca) is None
    assert x509.plan(dict(actual, ca_cert=loose_ca, ca_key=loose_key), "reg.lab", sans, 30) == (
        "the CA has no name constraints", "new CA")


def test_loose_key_files_are_found(tmp_path):
    files = x509.paths(str(tmp_path), "server")
    for name, mode in (("ca_key", 0o644), ("key", 0o600)):
        open(files[name], "w").close()
        (tmp_path / files[name].rsplit("/", 1)[1]).chmod(mode)
    assert x509.loose_key_files(files) == [files["ca_key"]]


def test_plan_renews_before_expiry(pki):
    actual, sans = pki
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=70)
    assert x509.plan(actual, "reg.lab", sans, 30, now=later)[1].startswith("the certificate expires on")
    much_later = later + datetime.timedelta(days=300)
    assert x509.plan(actual, "reg.lab", sans, 30, now=much_later)[0].startswith("the CA expires on")


def test_server_certificate_never_outlives_its_ca():
    ca, ca_key = x509.issue_ca("short CA", 10)
    cert, _ = x509.issue_cert(ca, ca_key, "x", [("DNS", "x")], 825)
    assert x509._not_after(cert) <= x509._not_after(ca)


# ---------------------------------------------------------------- htpasswd


def test_htpasswd_parse_render_roundtrip():
    text = "# comment\nalice:$2b$10$abc\n\nbob:$2y$05$def\n"
    entries = htpasswd.parse(text)
    assert entries == {"alice": "$2b$10$abc", "bob": "$2y$05$def"}
    assert htpasswd.render(entries) == "alice:$2b$10$abc\nbob:$2y$05$def\n"


def test_htpasswd_plan_keeps_verifying_hashes():
    current = {"alice": bcrypt.hashpw(b"pw-alice", bcrypt.gensalt(4)).decode(),
               "old": bcrypt.hashpw(b"x", bcrypt.gensalt(4)).decode(),
               "md5": "$apr1$abc$def"}
    users = [dict(name="alice", password="pw-alice"), dict(name="md5", password="pw"), dict(name="new", password="n")]
    actions, rehash, drop = htpasswd.plan(current, users, exclusive=True)
    assert rehash == ["md5", "new"] and drop == ["old"]
    assert actions == ["update user md5", "add user new", "remove user old"]
    assert htpasswd.plan(current, users, exclusive=False)[2] == []


def test_htpasswd_accepts_apache_2y_hashes():
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode().replace("$2b$", "$2y$", 1)
    assert htpasswd.verifies("pw", hashed) and not htpasswd.verifies("nope", hashed)


@pytest.mark.parametrize("users, needle", [
    ([dict(name="", password="p")], "users[0]"),
    ([dict(name="a:b", password="p")], "must not contain ':'"),
    ([dict(name="a", password="p"), dict(name="a", password="q")], "listed twice"),
    ([dict(name="a", password="")], "empty password"),
    ([dict(name="a", password="x" * 73)], "72 bytes"),
])
def test_htpasswd_validation(users, needle):
    with pytest.raises(SwarmOpsError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        htpasswd.validate(users)


# ---------------------------------------------------------------- docker_container


@pytest.mark.parametrize("spec, expected", [
    ("5000:5000", ("5000/tcp", ("0.0.0.0", 5000))),
    ("127.0.0.1:8080:80", ("80/tcp", ("127.0.0.1", 8080))),
    ("127.0.0.1::80", ("80/tcp", ("127.0.0.1", None))),
    ("53:53/udp", ("53/udp", ("0.0.0.0", 53))),
    ("[::1]:80:80", ("80/tcp", ("::1", 80))),
])
def test_parse_port(spec, expected):
    assert container.parse_port(spec) == expected


@pytest.mark.parametrize("spec", ["80", "a:b", "1:2:3:4x"])
def test_parse_port_rejects(spec):
    with pytest.raises(SwarmOpsError, match="ports"):
        container.parse_port(spec)


def test_parse_volume():
    assert container.parse_volume("/a:/b") == "/a:/b:rw"
    assert container.parse_volume("/a:/b:ro") == "/a:/b:ro"
    for bad in ("/a", "/a:b", "/a:/b:xx"):
        with pytest.raises(SwarmOpsError, match="volumes"):
            container.parse_volume(bad)


def _params(**extra):
    base = dict(image="reg:2", command=None, env={}, ports=["5000:5000"], volumes=[], restart_policy="unless-stopped",
                labels={}, config_digest=None)
    base.update(extra)
    return base


def test_definition_hash_covers_every_option_and_the_image_id():
    _, base = container.definition(_params(), "sha256:1")
    assert container.definition(_params(), "sha256:1")[1] == base
    assert container.definition(_params(), "sha256:2")[1] != base
    for change in (dict(env={"A": "1"}), dict(ports=["5001:5000"]), dict(volumes=["/a:/b"]),
                   dict(restart_policy="always"), dict(labels={"x": "y"}), dict(config_digest="abc"),
                   dict(command=["serve"])):
        assert container.definition(_params(**change), "sha256:1")[1] != base, change
    # "/a:/b" and "/a:/b:rw" are the same mount
    assert container.definition(_params(volumes=["/a:/b"]), "i")[1] == container.definition(
        _params(volumes=["/a:/b:rw"]), "i")[1]


def test_container_plan():
    running = {"Config": {"Labels": {container.HASH_LABEL: "h"}}, "State": {"Running": True}}
    stopped = {"Config": {"Labels": {container.HASH_LABEL: "h"}}, "State": {"Running": False}}
    assert container.plan(None, "started", "h") == ["create", "start"]
    assert container.plan(running, "started", "h") == []
    assert container.plan(stopped, "started", "h") == ["start"]
    assert container.plan(running, "started", "other") == ["remove", "create", "start"]
    assert container.plan(running, "absent", "h") == ["remove"]
    assert container.plan(None, "absent", "h") == []


# ---------------------------------------------------------------- docker_login, http probe


def test_desired_config_sets_and_removes_only_the_registry():
    config = {"auths": {"a:5000": {"auth": "x"}}, "psFormat": "table"}
    auth = docker_auth.encode("u", "p")
    assert auth == "dTpw"
    new = docker_auth.desired_config(config, "b:5000", auth)
    assert new == {"auths": {"a:5000": {"auth": "x"}, "b:5000": {"auth": "dTpw"}}, "psFormat": "table"}
    assert config == {"auths": {"a:5000": {"auth": "x"}}, "psFormat": "table"}, "input untouched"
    assert docker_auth.desired_config(new, "b:5000", None) == config
    assert docker_auth.desired_config({}, "b:5000", None) == {"auths": {}}


def test_missing_expectations():
    body = "<h3>Hello World!</h3> cannot connect to Redis, counter disabled"
    assert missing_expectations(body, ["Hello World!", "counter disabled"]) == []
    assert missing_expectations(body, ["Hello Swarm!", "counter disabled"]) == ["Hello Swarm!"]
