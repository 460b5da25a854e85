# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small self-signed CA and server certificates signed by it (for the lab registry).

read (load what is on disk) -> plan (pure: keep or (re)issue, and why) -> apply (write).

The CA carries critical name constraints: it can vouch for the registry's own names and
addresses only, so a trusted copy of it (or of its key) cannot be used to impersonate any
other site. Its key stays on the controller, unencrypted, mode 0600 (re-applied when looser).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import traceback

from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_ERROR = None
except ImportError:  # pragma: no cover
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_ERROR = traceback.format_exc()


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _not_after(cert):
    if hasattr(cert, "not_valid_after_utc"):
        return cert.not_valid_after_utc
    return cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)  # cryptography < 42


def parse_sans(names):
    """['reg.lab', '10.0.0.1'] -> sorted [('DNS', 'reg.lab'), ('IP', '10.0.0.1')]. Pure."""
    out = set()
    for name in names:
        name = name.strip()
        for prefix in ("DNS:", "IP:"):
            if name.upper().startswith(prefix):
                name = name[len(prefix):]
        try:
            out.add(("IP", str(ipaddress.ip_address(name))))
        except ValueError:
            if not name:
                raise SwarmOpsError("subject_alt_names holds an empty name.")
            out.add(("DNS", name.lower()))
    return sorted(out)


def cert_sans(cert):
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    sans = [("DNS", n.lower()) for n in ext.get_values_for_type(x509.DNSName)]
    sans += [("IP", str(a)) for a in ext.get_values_for_type(x509.IPAddress)]
    return sorted(set(sans))


def _load(path, loader):
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        data = f.read()
    try:
        return loader(data)
    except ValueError as exc:
        raise SwarmOpsError("%s is not a valid PEM file: %s" % (path, exc), path=path)


def paths(directory, name):
    return dict(ca_cert=os.path.join(directory, "ca.crt"), ca_key=os.path.join(directory, "ca.key"),
                cert=os.path.join(directory, name + ".crt"), key=os.path.join(directory, name + ".key"))


def _load_key(data):
    return serialization.load_pem_private_key(data, password=None)


def read(files):
    load_key = _load_key
    return dict(ca_cert=_load(files["ca_cert"], x509.load_pem_x509_certificate),
                ca_key=_load(files["ca_key"], load_key),
                cert=_load(files["cert"], x509.load_pem_x509_certificate),
                key=_load(files["key"], load_key))


def _constraint(kind, value):
    if kind == "IP":
        return x509.IPAddress(ipaddress.ip_network(value))  # a single address: /32 or /128
    return x509.DNSName(value)


def ca_permits(ca):
    """The CA's permitted names as [(DNS, name), (IP, network)], or None without constraints."""
    try:
        ext = ca.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return None
    out = []
    for entry in ext.permitted_subtrees or []:
        if isinstance(entry, x509.DNSName):
            out.append(("DNS", entry.value.lower()))
        elif isinstance(entry, x509.IPAddress):
            out.append(("IP", str(entry.value)))
    return out


def not_permitted(permits, sans):
    """The names in ``sans`` that ``permits`` does not cover (RFC 5280 subtree rules). Pure."""
    def covered(kind, value):
        for p_kind, base in permits:
            if p_kind != kind:
                continue
            if kind == "DNS" and (value == base or value.endswith("." + base)):
                return True
            if kind == "IP" and ipaddress.ip_address(value) in ipaddress.ip_network(base):
                return True
        return False
    return [value for kind, value in sans if not covered(kind, value)]


def _ca_reason(ca, ca_key, sans, renew, now):
    if ca is None or ca_key is None:
        return "no CA yet"
    if not _same_key(ca, ca_key):
        return "the CA key does not match the CA certificate"
    if _not_after(ca) - renew < now:
        return "the CA expires on %s" % _not_after(ca).date()
    permits = ca_permits(ca)
    if permits is None:
        return "the CA has no name constraints"
    outside = not_permitted(permits, sans)
    if outside:
        return "the CA's name constraints do not cover %s" % ", ".join(outside)
    return None


def _same_key(cert, key):
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    return cert.public_key().public_bytes(enc, pub) == key.public_key().public_bytes(enc, pub)


def plan(actual, common_name, sans, renew_before_days, now=None):
    """-> (ca_reason or None, cert_reason or None). Pure given ``actual``."""
    now = now or _now()
    renew = datetime.timedelta(days=renew_before_days)
    ca, ca_key = actual["ca_cert"], actual["ca_key"]
    ca_reason = _ca_reason(ca, ca_key, sans, renew, now)
    cert, key = actual["cert"], actual["key"]
    if ca_reason:
        cert_reason = "new CA"
    elif cert is None or key is None:
        cert_reason = "no certificate yet"
    elif not _same_key(cert, key):
        cert_reason = "the key does not match the certificate"
    elif cert.issuer != ca.subject:
        cert_reason = "signed by another CA"
    elif cert_sans(cert) != sans:
        cert_reason = "subject alternative names differ"
    elif cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value != common_name:
        cert_reason = "common name differs"
    elif _not_after(cert) - renew < now:
        cert_reason = "the certificate expires on %s" % _not_after(cert).date()
    else:
        cert_reason = None
    return ca_reason, cert_reason


def _write(path, data, mode):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def loose_key_files(files):
    """Private key files readable by anyone but their owner."""
    return [files[k] for k in ("ca_key", "key")
            if os.path.exists(files[k]) and os.stat(files[k]).st_mode & 0o077]


def _pem(obj):
    if hasattr(obj, "private_bytes"):
        return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
    return obj.public_bytes(serialization.Encoding.PEM)


def issue_ca(common_name, days, sans=()):
    """A CA for ``sans`` only (critical name constraints); none given: unconstrained."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _now()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if sans:
        permitted = [_constraint(kind, value) for kind, value in sans]
        cert = cert.add_extension(x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None),
                                  critical=True)
    return cert.sign(key, hashes.SHA256()), key


def issue_cert(ca, ca_key, common_name, sans, days):
    key = ec.generate_private_key(ec.SECP256R1())
    alt = [x509.IPAddress(ipaddress.ip_address(v)) if t == "IP" else x509.DNSName(v) for t, v in sans]
    now = _now()
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
               .issuer_name(ca.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(min(now + datetime.timedelta(days=days), _not_after(ca)))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                              critical=False))
    if alt:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def ensure(params, check_mode):
    if not HAS_CRYPTOGRAPHY:
        raise SwarmOpsError("The Python package 'cryptography' is required where this module runs.",
                            exception=CRYPTOGRAPHY_ERROR)
    directory = params["path"]
    files = paths(directory, params["name"])
    sans = parse_sans(params["subject_alt_names"] or [params["common_name"]])
    actual = read(files)
    ca_reason, cert_reason = plan(actual, params["common_name"], sans, params["renew_before_days"])
    loose = loose_key_files(files) if not ca_reason and not cert_reason else []
    actions = ((["issue CA (%s)" % ca_reason] if ca_reason else [])
               + (["issue %s certificate (%s)" % (params["name"], cert_reason)] if cert_reason else [])
               + ["restrict %s to mode 0600" % path for path in loose])
    result = dict(changed=bool(actions), actions=actions, **files)
    if check_mode or not actions:
        if actual["ca_cert"] is not None:
            result["ca_pem"] = _pem(actual["ca_cert"]).decode()
        return result
    for path in loose:
        os.chmod(path, 0o600)
    if not ca_reason and not cert_reason:
        result["ca_pem"] = _pem(actual["ca_cert"]).decode()
        return result
    os.makedirs(directory, mode=0o755, exist_ok=True)
    ca, ca_key = actual["ca_cert"], actual["ca_key"]
    if ca_reason:
        ca, ca_key = issue_ca(params["ca_common_name"], params["ca_valid_days"], sans)
        _write(files["ca_key"], _pem(ca_key), 0o600)
        _write(files["ca_cert"], _pem(ca), 0o644)
    cert, key = issue_cert(ca, ca_key, params["common_name"], sans, params["valid_days"])
    _write(files["key"], _pem(key), 0o600)
    _write(files["cert"], _pem(cert), 0o644)
    result["ca_pem"] = _pem(ca).decode()
    return result
