#!/usr/bin/env bash
# Build the image of a bare controller for the fresh-controller test: Debian minbase with
# only python3, make and git (+ ca-certificates, so the machine's CA bundle has a home).
# No python3-venv, no debootstrap, no ssh: tools/bootstrap-controller.sh must add them.
# Usage: tools/fresh-controller-image.sh IMAGE MIRROR   (reused when IMAGE exists)
set -euo pipefail
image=${1:?image name}
mirror=${2:?Debian mirror URL}

if docker image inspect "$image" >/dev/null 2>&1; then
  echo ">> $image is present: reused"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap is missing: make bootstrap" >&2; exit 1; }
work=$(mktemp -d /tmp/fresh-controller-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
debootstrap --variant=minbase --include=python3,make,git,ca-certificates \
  bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
# The test mounts this machine's apt sources; one copy of them avoids duplicate-target noise.
rm -f "$work/rootfs/etc/apt/sources.list"
rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
tar -C "$work/rootfs" -c . | docker import - "$image" >/dev/null
echo ">> $image built"
