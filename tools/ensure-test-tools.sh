#!/usr/bin/env bash
# Tools the end-to-end verify needs on the controller: headless Chromium for the
# visualizer check. Installed from Debian's packages when root with apt; otherwise say so.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo ">> installing Debian's chromium (headless visualizer check)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
else
  echo "chromium is missing: install it (apt-get install chromium) to run the end-to-end tests" >&2
  exit 1
fi
