#!/usr/bin/env bash
# Make sure a Docker Engine answers on this machine.
#  - one answers already: use it;
#  - none, and we are root with apt: install Debian's docker.io and start dockerd by hand
#    (these machines have no systemd as PID 1);
#  - otherwise: say how to install Docker and stop.
set -euo pipefail

log_dir=${SWARMOPS_STATE_DIR:-$HOME/.swarmops}
wait_for_engine() {
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  return 1
}

if docker info >/dev/null 2>&1; then
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo ">> no Docker engine: installing Debian's docker.io (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq docker.io >/dev/null
  else
    cat >&2 <<'MSG'
No Docker engine answers and this script cannot install one (it needs root and apt-get).
Install Docker Engine (https://docs.docker.com/engine/install/ or your distribution's
docker.io package), start it, make sure `docker info` works for this user, then re-run.
MSG
    exit 1
  fi
fi

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl start docker || true
  wait_for_engine && exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "dockerd is installed but not running, and starting it needs root: sudo dockerd &" >&2
  exit 1
fi
mkdir -p "$log_dir"
echo ">> starting dockerd (log: $log_dir/dockerd.log)"
nohup dockerd >"$log_dir/dockerd.log" 2>&1 &
if ! wait_for_engine; then
  echo "dockerd did not answer within 60 s; its last lines:" >&2
  tail -n 20 "$log_dir/dockerd.log" >&2
  exit 1
fi
docker version --format 'Docker Engine {{.Server.Version}} (API {{.Server.APIVersion}}) is up'
