#!/bin/sh
# As the upstream image does: without a config file Redis only accepts loopback clients
# (protected mode), so turn that off when the command is redis-server.
if [ "$1" = "redis-server" ]; then
  shift
  exec redis-server --protected-mode no --dir /data "$@"
fi
exec "$@"
