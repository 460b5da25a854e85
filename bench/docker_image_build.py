#!/usr/bin/env python3
"""A no-op docker_image_build against `docker build` with every layer cached, same context.

Stand-alone: `.venv/bin/python bench/docker_image_build.py [--runs N]`. Needs the local
engine and the lab base image (swarmops/lab-base:bookworm). Each context is built once
first (warm-up, not timed), then every way is timed N times in turn, in one run; the table
shows median and min wall-clock seconds. Images made here are removed at the end.

Ways compared:
  module (in-process)  ensure_image(): hash the context + inspect the image; no build call
  module (ansible)     `ansible localhost -m swarmops.core.docker_image_build`, end to end
  docker build         the docker CLI, all layers cached (here the classic builder: the
                       buildx plugin is absent, so the CLI falls back to it)
  API build            APIClient.build of the same context, all layers cached (what a
                       module without content hashing would do every run)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / ".collections"))

import docker  # noqa: E402

from ansible_collections.swarmops.core.plugins.module_utils.image_build import (  # noqa: E402
    SENT_DOCKERFILE,
    ensure_image,
    load_context,
)

BIN = Path(sys.executable).parent
BASE = os.environ.get("SWARMOPS_BASE_IMAGE", "swarmops/lab-base:bookworm")
# pip in the friendlyhello build reaches PyPI only with the host's CA bundle (see LAB.md).
CA_BUNDLE = os.environ.get("SWARMOPS_BENCH_CA", "/etc/ssl/certs/ca-certificates.crt")
PREFIX = "swarmops-bench-imgbuild"


def make_big_context(path, files=2000, size=50_000):
    """A context of many files (files x size bytes), to show the cost of hashing vs sending."""
    (path / "data").mkdir(parents=True)
    for i in range(files):
        (path / "data" / ("f%04d.bin" % i)).write_bytes(os.urandom(size))
    (path / "Dockerfile").write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY data /data\n")


def params(name, path, ca):
    return dict(name=name, tag="latest", tags=[], path=str(path), dockerfile="Dockerfile",
                build_args={"BASE_IMAGE": BASE}, target=None, labels={}, platform=None, pull=False,
                nocache=False, force=False, ca_certificates=ca, build_timeout=1800, push=False, registry_auth=None)


def cli_context(src, dest, ca):
    """A copy of src plus the files the module adds (CA bundle, generated Dockerfile), so that
    `docker build` gets byte-for-byte the context the module sends and shares its layer cache."""
    shutil.copytree(src, dest)
    for name, text in load_context(str(src), "Dockerfile", ca)["extra_files"]:
        (dest / name).write_text(text)
    return dest


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(cmd, env=None):
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **(env or {})), cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s\n%s" % (" ".join(cmd), proc.stdout[-2000:], proc.stderr[-2000:]))
    return proc.stdout


def ways(client, name, path, cli_path, ca):
    p = params(name, path, ca)
    ansible_args = json.dumps({k: p[k] for k in ("name", "path", "build_args", "ca_certificates")})

    def module_inprocess():
        result = ensure_image(client, p, check_mode=False)
        assert result["changed"] is False, result

    def module_ansible():
        out = run([str(BIN / "ansible"), "localhost", "-i", "localhost,", "-c", "local", "-e",
                   "ansible_python_interpreter=" + sys.executable, "-m", "swarmops.core.docker_image_build",
                   "-a", ansible_args], env=dict(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg")))
        assert "SUCCESS" in out, out

    def cli():
        run(["docker", "build", "-q", "-t", name + "-cli", "-f", str(cli_path / SENT_DOCKERFILE),
             "--build-arg", "BASE_IMAGE=" + BASE, str(cli_path)])

    def api_build():
        for chunk in client.build(path=str(cli_path), dockerfile=SENT_DOCKERFILE, tag=name + "-api",
                                  buildargs={"BASE_IMAGE": BASE}, rm=True, decode=True):
            assert "error" not in chunk, chunk

    return [("module (in-process)", module_inprocess), ("module (ansible)", module_ansible),
            ("docker build", cli), ("API build", api_build)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    client = docker.APIClient(version="auto")
    tmp = Path(tempfile.mkdtemp(prefix="swarmops-bench-"))
    try:
        big = tmp / "big"
        make_big_context(big)
        contexts = [("friendlyhello", ROOT / "apps/friendlyhello", PREFIX + "-fh", [CA_BUNDLE]),
                    ("2000 files, 100 MB", big, PREFIX + "-big", [])]
        rows = []
        for label, path, name, ca in contexts:
            result = ensure_image(client, params(name, path, ca), check_mode=False)  # warm-up build
            all_ways = ways(client, name, path, cli_context(path, tmp / ("cli-" + name), ca), ca)
            for _, fn in all_ways:  # warm the other builders' caches too
                fn()
            samples = {way: [] for way, _ in all_ways}
            for _ in range(args.runs):
                for way, fn in all_ways:
                    samples[way].append(timed(fn))
            for way, values in samples.items():
                rows.append((label, way, statistics.median(values), min(values)))
            print("context %-20s hash %s" % (label, result["context_hash"][:19]), file=sys.stderr)
        print("\nNo-op docker_image_build vs a fully cached `docker build`, %d runs each (seconds)\n" % args.runs)
        print("%-20s %-22s %8s %8s" % ("context", "way", "median", "min"))
        print("-" * 62)
        for label, way, median, low in rows:
            print("%-20s %-22s %8.3f %8.3f" % (label, way, median, low))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        tagged = [i for i in client.images() if any(t.startswith(PREFIX) for t in i.get("RepoTags") or [])]
        for image in client.images(name=PREFIX + "*") + tagged:
            try:
                client.remove_image(image["Id"], force=True)
            except docker.errors.APIError:
                pass


if __name__ == "__main__":
    main()
