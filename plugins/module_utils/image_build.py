# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docker_image_build logic: build context + hashing, read, plan, apply.

The context hash covers exactly what the Engine receives: the files of the
context after .dockerignore (names, modes, contents, symlink targets), the
Dockerfile as sent (after CA injection), the injected CA bundle, and the build
options that change the image (build args, target, labels, platform). It is
stored on the image as the label ``io.swarmops.context-hash``; an image that
carries the same hash is reused without calling the build.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from contextlib import contextmanager

from ansible_collections.swarmops.core.plugins.module_utils.context_archive import ArchiveError, unpack
from ansible_collections.swarmops.core.plugins.module_utils.docker_client import sdk_errors
from ansible_collections.swarmops.core.plugins.module_utils.plan import Plan, dispatch
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError


HASH_LABEL = "io.swarmops.context-hash"
# The Dockerfile and CA bundle we send are generated names in the context.
SENT_DOCKERFILE = ".swarmops.Dockerfile"
SENT_CA_BUNDLE = ".swarmops-build-ca.crt"
CA_PATH_IN_IMAGE = "/usr/local/share/swarmops/build-ca.crt"
# Tools that read a CA bundle path from the environment during RUN steps.
CA_ENV_VARS = ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE",
               "GIT_SSL_CAINFO", "NODE_EXTRA_CA_CERTS", "CARGO_HTTP_CAINFO")
LOG_TAIL = 25
_STEP_RE = re.compile(r"^Step \d+/\d+ : ")


# ---------------------------------------------------------------- references

def split_reference(ref):
    """'reg:5000/app:1' -> ('reg:5000/app', '1'); no tag -> 'latest'."""
    if "@" in ref:
        raise SwarmOpsError("Image reference %r: digests are not accepted here, use a tag." % ref)
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        return ref[:colon], ref[colon + 1:]
    return ref, "latest"


def registry_of(repository):
    """The registry host of a repository name, or None for Docker Hub."""
    first, sep, _ = repository.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return None


def references(name, tag, tags):
    """Every reference the image gets: name:tag first, then each of ``tags``.

    A plain word in ``tags`` is another tag of ``name``; anything containing
    ``/`` or ``:`` is a complete reference (repository[:tag]).
    """
    if split_reference(name) != (name, "latest") or "@" in name:
        raise SwarmOpsError("name %r must be a repository without a tag; put the tag in 'tag'." % name)
    refs = ["%s:%s" % (name, tag)]
    for extra in tags or []:
        ref = "%s:%s" % split_reference(extra) if ("/" in extra or ":" in extra) else "%s:%s" % (name, extra)
        if ref not in refs:
            refs.append(ref)
    return refs


# ---------------------------------------------------------------- build context

def read_text(path, what, shown=None):
    """A UTF-8 text file of the build, or an error naming it as ``shown`` (default: its path;
    never a traceback)."""
    shown = shown or path
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise SwarmOpsError("%s %s cannot be read: %s" % (what, shown, exc.strerror or exc), path=shown)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SwarmOpsError("%s %s is not UTF-8 text (invalid byte 0x%02x at offset %d); save it as UTF-8."
                            % (what, shown, raw[exc.start], exc.start), path=shown)


def shown_path(path, root, name):
    """``path`` as the user knows it: under ``root``, named from the context's ``name``."""
    if path == root or path.startswith(root + os.sep):
        return name + path[len(root):]
    return path


def read_dockerignore(root, name):
    path = os.path.join(root, ".dockerignore")
    if not os.path.exists(path):
        return []
    lines = [line.strip() for line in read_text(path, ".dockerignore", shown_path(path, root, name)).splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.S)


def certificate_blocks(text, path):
    """Only the CERTIFICATE blocks of a PEM file. A private key in it is refused, not skipped:
    a bundle that holds one was mixed up with something else, and the key must not travel."""
    kinds = [m.group(1) for m in _PEM_BLOCK.finditer(text)]
    if any("PRIVATE KEY" in kind for kind in kinds) or "PRIVATE KEY-----" in text:
        raise SwarmOpsError("CA certificate file %s holds a private key; refusing to copy it into a build. "
                            "Give a file with the CA certificates only." % path, ca_certificate=path)
    blocks = [m.group(0) for m in _PEM_BLOCK.finditer(text) if m.group(1) == "CERTIFICATE"]
    if not blocks:
        raise SwarmOpsError("CA certificate %s holds no PEM certificate." % path, ca_certificate=path)
    return "".join(block + "\n" for block in blocks)


def ca_bundle(ca_certificates):
    """The certificates of every file, one bundle; every bad file named at once."""
    bundle, problems = [], []
    for ca in ca_certificates:
        try:
            bundle.append(certificate_blocks(read_text(ca, "CA certificate"), ca))
        except SwarmOpsError as exc:
            problems.append(str(exc))
    if len(problems) == 1:
        raise SwarmOpsError(problems[0], ca_certificates=ca_certificates)
    if problems:
        raise SwarmOpsError("%d problems with ca_certificates: %s" % (len(problems), " ".join(problems)),
                            ca_certificates=ca_certificates)
    return "".join(bundle)


def inject_ca(dockerfile_text):
    """After every FROM, copy the CA bundle in and point the usual tools at it.

    ARG (not ENV) so the variables exist during RUN steps of the build only and
    never end up in the image's configuration.
    """
    lines = dockerfile_text.splitlines()
    escape = "\\"
    for line in lines:  # parser directives come first: '# escape=`'
        m = re.match(r"^#\s*escape\s*=\s*(\S)\s*$", line, re.I)
        if m:
            escape = m.group(1)
        elif not line.startswith("#"):
            break
    snippet = ["COPY %s %s" % (SENT_CA_BUNDLE, CA_PATH_IN_IMAGE)]
    snippet += ["ARG %s=%s" % (var, CA_PATH_IN_IMAGE) for var in CA_ENV_VARS]
    out, in_from = [], False
    for line in lines:
        out.append(line)
        stripped = line.strip()
        if not in_from and re.match(r"^FROM\s", stripped, re.I):
            in_from = True
        if in_from and not stripped.endswith(escape):
            out.extend(snippet)
            in_from = False
    return "\n".join(out) + "\n"


@contextmanager
def unpacked_context(params):
    """``params`` with ``path`` set: as given, or a temporary directory holding the context the
    action plugin packed from ``src`` (removed afterwards; load_context names it ``src`` in errors)."""
    if not params.get("src"):
        yield params
        return
    if not params.get("_context_archive"):
        raise SwarmOpsError("src is read on the controller by the docker_image_build action plugin; "
                            "call the module by its name swarmops.core.docker_image_build.", src=params["src"])
    root = tempfile.mkdtemp(prefix="swarmops-context-")
    try:
        try:
            unpack(params["_context_archive"], root)
        except (ArchiveError, OSError) as exc:
            raise SwarmOpsError("src %s: %s" % (params["src"], exc), src=params["src"])
        yield dict(params, path=root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def load_context(path, dockerfile, ca_certificates, name=None):
    """Read the context from disk -> dict(root, name, files, extra_files, ignore). Errors call the
    context ``name`` (default: its path), e.g. the user's ``src`` when ``path`` is a copy of it."""
    root = os.path.abspath(path)
    name = name or root
    if not os.path.isdir(root):
        raise SwarmOpsError("Build context %s does not exist or is not a directory." % name, path=name)
    df_path = dockerfile if os.path.isabs(dockerfile) else os.path.join(root, dockerfile)
    df_shown = shown_path(df_path, root, name)
    if not os.path.isfile(df_path):
        raise SwarmOpsError("Dockerfile %s not found." % df_shown, dockerfile=df_shown)
    dockerfile_text = read_text(df_path, "Dockerfile", df_shown)
    ignore = read_dockerignore(root, name)
    rel_df = os.path.relpath(df_path, root)
    keep = rel_df if not rel_df.startswith("..") else SENT_DOCKERFILE
    from docker.utils.build import exclude_paths  # pylint: disable=import-outside-toplevel

    try:
        files = sorted(exclude_paths(root, list(ignore), dockerfile=keep))
    except OSError as exc:
        where = " (%s)" % shown_path(exc.filename, root, name) if exc.filename else ""
        raise SwarmOpsError("Build context %s cannot be listed: %s%s" % (name, exc.strerror or exc, where), path=name)
    files = [f for f in files if f not in (SENT_DOCKERFILE, SENT_CA_BUNDLE)]

    extra = []
    if ca_certificates:
        extra.append((SENT_CA_BUNDLE, ca_bundle(ca_certificates)))
        dockerfile_text = inject_ca(dockerfile_text)
    extra.append((SENT_DOCKERFILE, dockerfile_text))
    # The daemon drops the Dockerfile and .dockerignore from the context when
    # .dockerignore names them, so neither of our generated files reaches COPY .
    # (the SDK does the same for a Dockerfile outside the context).
    own = [SENT_DOCKERFILE] + ([] if os.path.exists(os.path.join(root, ".dockerignore")) else [".dockerignore"])
    extra.append((".dockerignore", "\n".join(ignore + own) + "\n"))
    return dict(root=root, name=name, files=files, extra_files=extra, ignore=ignore)


def _entry(root, rel):
    full = os.path.join(root, rel)
    st = os.lstat(full)
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        return ["l", rel, mode, os.readlink(full)]
    if stat.S_ISDIR(st.st_mode):
        return ["d", rel, mode]
    if stat.S_ISREG(st.st_mode):
        digest = hashlib.sha256()
        with open(full, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return ["f", rel, mode, digest.hexdigest()]
    return None  # sockets, fifos: the SDK skips them too


def context_hash(context, build_args=None, target=None, labels=None, platform=None):
    """sha256 over the context as sent plus the options that shape the image."""
    h = hashlib.sha256()
    options = dict(build_args=build_args or {}, target=target or "", labels=labels or {},
                   platform=platform or "")
    h.update(json.dumps(options, sort_keys=True).encode() + b"\n")
    unreadable = []
    for rel in context["files"]:
        if rel == ".dockerignore":
            continue  # its effect is in the file list; the sent copy is an extra file
        try:
            entry = _entry(context["root"], rel)
        except OSError as exc:
            unreadable.append("%s (%s)" % (rel, exc.strerror or exc))
            continue
        if entry is not None:
            h.update(json.dumps(entry).encode() + b"\n")
    if unreadable:
        raise SwarmOpsError("Build context %s has files that cannot be read: %s. Fix their permissions or "
                            "list them in .dockerignore." % (context["name"], ", ".join(unreadable)),
                            unreadable=unreadable)
    for name, text in context["extra_files"]:
        h.update(json.dumps(["x", name, hashlib.sha256(text.encode()).hexdigest()]).encode() + b"\n")
    return "sha256:" + h.hexdigest()


# ---------------------------------------------------------------- read / plan

def inspect_image(client, ref):
    try:
        return client.inspect_image(ref)
    except sdk_errors.NotFound:
        return None


def read_images(client, refs):
    """{ref: image inspect or None} for every reference."""
    return {ref: inspect_image(client, ref) for ref in refs}


def plan_build(images, refs, wanted_hash, force):
    """-> (build: bool, retag: [refs], old_hash). Pure."""
    primary = images.get(refs[0])
    old_hash = ((primary or {}).get("Config") or {}).get("Labels") or {}
    old_hash = old_hash.get(HASH_LABEL)
    if force or primary is None or old_hash != wanted_hash:
        return True, list(refs[1:]), old_hash
    image_id = primary["Id"]
    retag = [ref for ref in refs[1:] if (images.get(ref) or {}).get("Id") != image_id]
    return False, retag, old_hash


def push_needed(local_image, repository, remote_digest):
    """A push changes something unless the registry already has the local image. Pure."""
    if remote_digest is None:
        return True
    return "%s@%s" % (repository, remote_digest) not in ((local_image or {}).get("RepoDigests") or [])


def _row(action):
    """The result's action text: 'build <ref>', 'tag <ref>', 'push <ref>'."""
    return "%s %s" % (action["action"], action["ref"])


def plan_image(images, refs, wanted_hash, force, remote=None):
    """-> Plan: build, tag and push actions (each with its ``ref``); before/after the context
    hash and image id. ``remote`` ({ref: registry digest or None}) only when pushing. Pure."""
    build, retag, old_hash = plan_build(images, refs, wanted_hash, force)
    old_id = (images[refs[0]] or {}).get("Id")
    plan = Plan(before=dict(context_hash=old_hash, image_id=old_id), row=_row,
                after=dict(context_hash=wanted_hash, image_id=None if build else old_id))
    if build:
        plan.add("build", ref=refs[0])
    for ref in retag:
        plan.add("tag", ref=ref)
    if remote is not None:
        # A fresh build has no repository digest yet, so every reference is pushed.
        for ref in refs:
            if build or push_needed(images[refs[0]], split_reference(ref)[0], remote[ref]):
                plan.add("push", ref=ref)
    return plan


# ---------------------------------------------------------------- apply

def _failing_step(lines):
    for line in reversed(lines):
        if _STEP_RE.match(line):
            return line
    return None


def run_build(client, context, refs, build_args, target, labels, platform, pull, nocache, timeout):
    """Build through the Engine API; stream the log. -> (image_id, log lines)."""
    from docker.utils.build import create_archive  # pylint: disable=import-outside-toplevel

    log = []
    image_id = None
    with tempfile.TemporaryFile() as fileobj:
        create_archive(context["root"], files=context["files"], fileobj=fileobj,
                       extra_files=context["extra_files"])
        kwargs = dict(fileobj=fileobj, custom_context=True, dockerfile=SENT_DOCKERFILE,
                      tag=refs[0], buildargs=build_args or None, target=target or None,
                      labels=labels, pull=pull, nocache=nocache, rm=True, forcerm=True,
                      decode=True, timeout=timeout)
        if platform:
            kwargs["platform"] = platform
        try:
            for chunk in client.build(**kwargs):
                if "stream" in chunk:
                    log.extend(line for line in chunk["stream"].splitlines() if line.strip())
                    m = re.match(r"^Successfully built ([0-9a-f]+)", chunk["stream"])
                    if m and not image_id:
                        image_id = m.group(1)
                if "aux" in chunk and isinstance(chunk["aux"], dict) and chunk["aux"].get("ID"):
                    image_id = chunk["aux"]["ID"]
                if "error" in chunk or "errorDetail" in chunk:
                    message = (chunk.get("errorDetail") or {}).get("message") or chunk.get("error")
                    log.append(message)
                    step = _failing_step(log)
                    raise SwarmOpsError(
                        "Build of %s failed%s: %s" % (refs[0], " at " + step if step else "", message),
                        failed_step=step, build_log=log[-LOG_TAIL:])
        except sdk_errors.APIError as exc:
            raise SwarmOpsError("Build of %s failed: %s" % (refs[0], exc.explanation or exc),
                                failed_step=_failing_step(log), build_log=log[-LOG_TAIL:])
    image = inspect_image(client, refs[0])
    if image is None:
        raise SwarmOpsError("Build of %s reported no image." % refs[0], build_log=log[-LOG_TAIL:])
    return image["Id"], log


def tag_image(client, image_id, ref):
    repository, tag = split_reference(ref)
    client.tag(image_id, repository, tag, force=True)


def auth_config(registry_auth, repository):
    if not registry_auth or not registry_auth.get("username"):
        return None
    return dict(username=registry_auth["username"], password=registry_auth.get("password") or "",
                serveraddress=registry_auth.get("registry") or registry_of(repository) or "docker.io")


def _is_auth_error(text):
    text = text.lower()
    return any(word in text for word in ("unauthorized", "authentication required", "denied",
                                         "no basic auth credentials", "incorrect username or password"))


def remote_digest(client, ref, auth):
    """The registry's manifest digest for ref, or None when it has none."""
    try:
        info = client.inspect_distribution(ref, auth_config=auth)
    except sdk_errors.APIError as exc:
        text = str(exc.explanation or exc)
        if _is_auth_error(text):
            raise SwarmOpsError("Registry %s refused the credentials%s for %s: %s" % (
                (auth or {}).get("serveraddress") or registry_of(split_reference(ref)[0]) or "docker.io",
                " of user %s" % auth["username"] if auth else " (none given)", ref, text), reference=ref)
        if exc.status_code == 404 or "manifest unknown" in text.lower() or "not found" in text.lower():
            return None
        raise SwarmOpsError("Cannot ask the registry about %s: %s" % (ref, text), reference=ref)
    return (info.get("Descriptor") or {}).get("digest")


def push(client, ref, auth):
    """Push ref; -> the digest the registry reports."""
    repository, tag = split_reference(ref)
    digest = None
    log = []
    for chunk in client.push(repository, tag=tag, auth_config=auth, stream=True, decode=True):
        if chunk.get("status"):
            log.append(chunk["status"])
        if isinstance(chunk.get("aux"), dict) and chunk["aux"].get("Digest"):
            digest = chunk["aux"]["Digest"]
        if "error" in chunk or "errorDetail" in chunk:
            message = (chunk.get("errorDetail") or {}).get("message") or chunk.get("error")
            if _is_auth_error(message):
                raise SwarmOpsError("Registry %s refused the credentials for %s: %s" % (
                    (auth or {}).get("serveraddress") or registry_of(repository), ref, message), reference=ref)
            raise SwarmOpsError("Push of %s failed: %s" % (ref, message), reference=ref, push_log=log[-LOG_TAIL:])
    return digest


def _apply_build(client, action, ctx):
    ctx["image_id"], log = run_build(client, ctx["context"], ctx["refs"], *ctx["build_options"])
    ctx["build_log"] = log[-LOG_TAIL:]


def _apply_tag(client, action, ctx):
    tag_image(client, ctx["image_id"], action["ref"])


def _apply_push(client, action, ctx):
    ctx["pushed"][action["ref"]] = push(client, action["ref"], ctx["auths"][action["ref"]])


STEPS = {"build": _apply_build, "tag": _apply_tag, "push": _apply_push}


def apply(client, plan, ctx):
    """Carry out the plan's actions in order (STEPS); -> ctx with image_id, build_log (when
    built) and pushed ({ref: digest the registry reported})."""
    ctx = dict(ctx, pushed={})
    for action in plan.actions:
        dispatch(STEPS, action["action"])(client, action, ctx)
    return ctx


# ---------------------------------------------------------------- the module's run

def _read(client, params, refs):
    """Local images, and (before anything is built) the registry's digests, which also proves
    the credentials work. -> (images, auths, remote); remote is None without push."""
    images = read_images(client, refs)
    if not params.get("push"):
        return images, {}, None
    auths = {ref: auth_config(params.get("registry_auth"), split_reference(ref)[0]) for ref in refs}
    return images, auths, {ref: remote_digest(client, ref, auths[ref]) for ref in refs}


def ensure_image(client, params, check_mode):
    """read -> plan -> apply for docker_image_build; -> result dict."""
    refs = references(params["name"], params["tag"], params.get("tags"))
    build_args = {k: str(v) for k, v in (params.get("build_args") or {}).items()}
    user_labels = {k: str(v) for k, v in (params.get("labels") or {}).items()}
    # With src, path is a temporary copy of it: errors name src.
    context = load_context(params["path"], params.get("dockerfile") or "Dockerfile",
                           params.get("ca_certificates"), params.get("src"))
    wanted = context_hash(context, build_args, params.get("target"), user_labels, params.get("platform"))
    images, auths, remote = _read(client, params, refs)
    plan = plan_image(images, refs, wanted, params.get("force"), remote)
    result = dict(changed=bool(plan), context_hash=wanted, references=refs, actions=plan.summary(),
                  image_id=plan.after["image_id"], diff=plan.diff())
    if remote is not None and "build" not in plan.verbs():
        result["digests"] = {ref: remote[ref] for ref in refs}
        result["digest"] = remote[refs[0]]
    if check_mode:
        return result
    build_options = (build_args, params.get("target"), dict(user_labels, **{HASH_LABEL: wanted}),
                     params.get("platform"), params.get("pull"), params.get("nocache"), params.get("build_timeout"))
    done = apply(client, plan, dict(context=context, refs=refs, build_options=build_options, auths=auths,
                                    image_id=plan.before["image_id"]))
    return _result_after(result, plan, done, remote)


def _result_after(result, plan, done, remote):
    """The result once applied: the built image, and the pushes that changed the registry."""
    if "build_log" in done:
        result["build_log"] = done["build_log"]
        result["image_id"] = done["image_id"]
        result["diff"] = dict(before=plan.before, after=dict(plan.after, image_id=done["image_id"]))
    if done["pushed"]:
        digests = {**remote, **done["pushed"]}
        # The registry already held that very manifest (e.g. the same image pushed from
        # elsewhere): the push changed nothing there.
        unchanged = {ref for ref, digest in done["pushed"].items() if digest == remote[ref]}
        result["actions"] = [plan.row(a) for a in plan.actions if not (a["action"] == "push" and a["ref"] in unchanged)]
        result["changed"] = bool(result["actions"])
        result["digests"] = digests
        result["digest"] = digests[result["references"][0]]
    return result
