#!/usr/bin/env bash
# Every Debian package the controller needs, in one place (the Makefile calls this first).
#  - all present: nothing to do;
#  - some missing, and we are root with apt: install them;
#  - otherwise: name exactly what to install, and stop.
# The Docker Engine itself is tools/ensure-engine.sh's job (it may already run elsewhere).
set -euo pipefail

# command-or-module to check -> Debian package that provides it
missing=()
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
command -v tar >/dev/null 2>&1 || missing+=(tar)
if [ "${SWARMOPS_TEST_TOOLS:-0}" = 1 ]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  # qemu_vm's quick tests (no VM boots) need only qemu-img: 7 MB.
  command -v qemu-img >/dev/null 2>&1 || missing+=(qemu-utils)
fi
# The QEMU provider (inventories/qemu, make test-vm): opt-in, a few hundred MB nobody else needs.
if [ "${SWARMOPS_QEMU:-0}" = 1 ]; then
  command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
  command -v qemu-img >/dev/null 2>&1 || missing+=(qemu-utils)
fi

[ ${#missing[@]} = 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo ">> installing the controller's Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "This controller lacks: ${missing[*]}" >&2
echo "Install them, e.g. 'sudo apt-get install ${missing[*]}', then re-run." >&2
exit 1
