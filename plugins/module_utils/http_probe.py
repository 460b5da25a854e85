# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docker_http_probe: run a throw-away container, ask it over HTTP on loopback, remove it."""

from __future__ import annotations

import urllib.error
import uuid

from ansible.module_utils.urls import open_url

from ansible_collections.swarmops.core.plugins.module_utils.docker_client import sdk_errors
from ansible_collections.swarmops.core.plugins.module_utils.json_file import read_json, write_json
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError, clock


def missing_expectations(body, expect):
    """The expected strings the body lacks. Pure."""
    return [text for text in expect if text not in body]


def _host_port(client, container, port):
    ports = (client.inspect_container(container)["NetworkSettings"].get("Ports") or {})
    for binding in ports.get("%d/tcp" % port) or []:
        if binding.get("HostPort"):
            return int(binding["HostPort"])
    return None


def _get(url, timeout):
    try:
        with open_url(url, timeout=timeout, use_proxy=False) as response:  # loopback only
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


RECORD_KEEP = 20


def passed_images(path):
    """The image ids a passed_record file lists; [] when it is missing or not such a list."""
    ids = read_json(path, [])
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


def probe_once(client, params, check_mode=False):
    """The module: skip an image the record lists as passed; otherwise probe (not in check mode)."""
    try:
        image_id = client.inspect_image(params["image"])["Id"]
    except sdk_errors.NotFound:
        image_id = None
    record = params.get("passed_record")
    passed = passed_images(record) if record else []
    if image_id is not None and image_id in passed:
        return dict(changed=False, probed=False, image=params["image"], image_id=image_id,
                    skipped_reason="%s passed before (%s)" % (params["image"], record))
    if check_mode:
        return dict(changed=False, probed=False, skipped_reason="check mode: no container is run")
    if image_id is None:
        raise SwarmOpsError("Image %s not found on this engine." % params["image"], image=params["image"])
    result = probe(client, params, image_id)
    if record:
        write_json(record, [i for i in passed if i != image_id][-(RECORD_KEEP - 1):] + [image_id])
    return dict(result, probed=True, image_id=image_id)


def probe(client, params, image_id):
    """Run a container of ``image_id`` (the image probe_once read: what is recorded as passed is
    what ran, even if the tag moves meanwhile), GET the path until it answers or time runs out,
    always remove it."""
    name = params.get("name") or "swarmops-probe-%s" % uuid.uuid4().hex[:10]
    port = params["container_port"]
    host_config = client.create_host_config(
        port_bindings={port: ("127.0.0.1", None)},
        extra_hosts=params.get("extra_hosts") or None,
    )
    container = client.create_container(
        image_id, name=name, ports=[port], environment=params.get("env") or None,
        host_config=host_config, labels={"io.swarmops.probe": "true"})
    ticks = clock(params["probe_timeout"], 0.5)
    status, body, error = None, "", None
    try:
        client.start(container)
        host_port = _host_port(client, container, port)
        url = "http://127.0.0.1:%d%s" % (host_port, params["path"])
        for dummy in ticks:
            state = client.inspect_container(container)["State"]
            if not state.get("Running"):
                error = "the container exited with code %s" % state.get("ExitCode")
                break
            try:
                status, body = _get(url, timeout=5)
                if status < 500:
                    break
            except OSError as exc:  # not listening yet
                error = str(exc)
        logs = client.logs(container, tail=30).decode("utf-8", "replace").splitlines()
    finally:
        try:
            client.remove_container(container, force=True, v=True)
        except sdk_errors.APIError:
            pass
    result = dict(changed=False, image=params["image"], url_path=params["path"], status=status, body=body)
    if status is None:
        raise SwarmOpsError("%s did not answer on port %d within %ds: %s" % (
            params["image"], port, params["probe_timeout"], error), logs=logs)
    if status != params["status_code"]:
        raise SwarmOpsError("%s answered HTTP %s on %s, expected %s." % (
            params["image"], status, params["path"], params["status_code"]), body=body, logs=logs)
    missing = missing_expectations(body, params.get("expect") or [])
    if missing:
        raise SwarmOpsError("%s answered without %s." % (params["image"], ", ".join(repr(m) for m in missing)),
                            body=body, logs=logs)
    return result
