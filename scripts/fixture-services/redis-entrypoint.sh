#!/usr/bin/env bash
# pyslim's stand-in for the official redis image's docker-entrypoint.sh: options or a config
# file alone run redis-server; the server runs as the redis user, with protected mode off unless
# the command or its config file says otherwise (the official image is built that way), so other
# containers reach it without a password.
set -eo pipefail

if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then set -- redis-server "$@"; fi

if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find . \! -user redis -exec chown redis '{}' + 2>/dev/null || true
  exec setpriv --reuid=redis --regid=redis --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [ "$1" = redis-server ]; then
  conf=no
  for a in "${@:2}"; do
    case $a in --protected-mode) conf=yes ;; *.conf) conf=yes ;; esac
  done
  if [ "$conf" = no ]; then set -- "$@" --protected-mode no; fi
fi

exec "$@"
