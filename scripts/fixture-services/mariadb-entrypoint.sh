#!/usr/bin/env bash
# pyslim's stand-in for the official mariadb / mysql images' docker-entrypoint.sh: on first
# start it creates the data directory and the accounts the variables name
# (MARIADB_ROOT_PASSWORD or MYSQL_ROOT_PASSWORD, *_ALLOW_EMPTY_(ROOT_)PASSWORD,
# *_RANDOM_ROOT_PASSWORD, *_ROOT_HOST, *_DATABASE, *_USER / *_PASSWORD, and the *_FILE forms),
# runs /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz once, then serves on port 3306 as the
# mysql user. Options only MySQL knows (a compose file for mysql:8 often passes
# --default-authentication-plugin) are passed with MariaDB's --loose- prefix, which ignores them.
set -Eeo pipefail

# The first of the variables that is set (or its _FILE form), else the default; exported as $1.
env_of() {
  local out=$1 def=$2 v val=
  shift 2
  for v in "$@"; do
    if [ -n "${!v:-}" ]; then val=${!v}; break; fi
    local f="${v}_FILE"
    if [ -n "${!f:-}" ]; then val=$(<"${!f}"); break; fi
  done
  export "$out"="${val:-$def}"
}

# MySQL string literal content: backslash and quote escaped.
sql_escape() { local s=${1//\\/\\\\}; printf '%s' "${s//\'/\\\'}"; }

if [ "${1:0:1}" = - ]; then set -- mariadbd "$@"; fi

case $1 in
  mysqld | mariadbd)
    args=("$1")
    for a in "${@:2}"; do
      case $a in
        --default-authentication-plugin* | --authentication-policy* | --mysql-native-password* | \
          --default_authentication_plugin* | --authentication_policy*)
          args+=("--loose-${a#--}") ;;
        *) args+=("$a") ;;
      esac
    done
    set -- "${args[@]}"
    ;;
esac

if { [ "$1" = mysqld ] || [ "$1" = mariadbd ]; } && [ "$(id -u)" = 0 ]; then
  mkdir -p /var/lib/mysql /run/mysqld
  chown -R mysql:mysql /var/lib/mysql /run/mysqld
  exec setpriv --reuid=mysql --regid=mysql --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if { [ "$1" = mysqld ] || [ "$1" = mariadbd ]; } && [ ! -d /var/lib/mysql/mysql ]; then
  env_of ROOT_PASSWORD '' MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD
  env_of ALLOW_EMPTY '' MARIADB_ALLOW_EMPTY_ROOT_PASSWORD MYSQL_ALLOW_EMPTY_PASSWORD
  env_of RANDOM_ROOT '' MARIADB_RANDOM_ROOT_PASSWORD MYSQL_RANDOM_ROOT_PASSWORD
  env_of ROOT_HOST '%' MARIADB_ROOT_HOST MYSQL_ROOT_HOST
  env_of DATABASE '' MARIADB_DATABASE MYSQL_DATABASE
  env_of DB_USER '' MARIADB_USER MYSQL_USER
  env_of DB_PASSWORD '' MARIADB_PASSWORD MYSQL_PASSWORD
  if [ -z "$ROOT_PASSWORD" ] && [ -z "$ALLOW_EMPTY" ] && [ -z "$RANDOM_ROOT" ]; then
    cat >&2 <<'EOM'
error: database is uninitialized and password option is not specified
	You need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ROOT_PASSWORD_HASH, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD
	(or MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD, MYSQL_RANDOM_ROOT_PASSWORD)
EOM
    exit 1
  fi
  if [ -n "$RANDOM_ROOT" ] && [ -z "$ROOT_PASSWORD" ]; then
    ROOT_PASSWORD=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 || true)
    echo "GENERATED ROOT PASSWORD: $ROOT_PASSWORD"
  fi
  echo "$0: initializing the database"
  mariadb-install-db --user=mysql --datadir=/var/lib/mysql --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve >/dev/null
  "$@" --skip-networking --socket=/run/mysqld/mysqld.sock &
  pid=$!
  for _ in $(seq 1 300); do
    if mariadb-admin --socket=/run/mysqld/mysqld.sock -uroot ping >/dev/null 2>&1; then break; fi
    kill -0 "$pid" 2>/dev/null || { echo >&2 "$0: the server died while initializing"; exit 1; }
    sleep 0.1
  done
  rp=$(sql_escape "$ROOT_PASSWORD")
  {
    echo "DROP USER IF EXISTS ''@'localhost';"
    echo "DROP USER IF EXISTS ''@'$(hostname)';"
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$rp';"
    if [ "$ROOT_HOST" != localhost ]; then
      echo "CREATE USER IF NOT EXISTS 'root'@'$(sql_escape "$ROOT_HOST")' IDENTIFIED BY '$rp';"
      echo "GRANT ALL ON *.* TO 'root'@'$(sql_escape "$ROOT_HOST")' WITH GRANT OPTION;"
    fi
    if [ -n "$DATABASE" ]; then echo "CREATE DATABASE IF NOT EXISTS \`${DATABASE//\`/\`\`}\`;"; fi
    if [ -n "$DB_USER" ] && [ -n "$DB_PASSWORD" ]; then
      echo "CREATE USER IF NOT EXISTS '$(sql_escape "$DB_USER")'@'%' IDENTIFIED BY '$(sql_escape "$DB_PASSWORD")';"
      if [ -n "$DATABASE" ]; then
        echo "GRANT ALL ON \`${DATABASE//\`/\`\`}\`.* TO '$(sql_escape "$DB_USER")'@'%';"
      fi
    fi
    echo "FLUSH PRIVILEGES;"
  } | mariadb --socket=/run/mysqld/mysqld.sock -uroot --binary-mode
  client_conf=$(mktemp)
  printf '[client]\nuser=root\npassword="%s"\nsocket=/run/mysqld/mysqld.sock\n' "${ROOT_PASSWORD//\"/\\\"}" >"$client_conf"
  client=(mariadb --defaults-extra-file="$client_conf")
  if [ -n "$DATABASE" ]; then client+=(--database="$DATABASE"); fi
  for f in /docker-entrypoint-initdb.d/*; do
    case $f in
      *.sh)
        if [ -x "$f" ]; then echo "$0: running $f"; "$f"; else echo "$0: sourcing $f"; # shellcheck disable=SC1090
          . "$f"; fi ;;
      *.sql) echo "$0: running $f"; "${client[@]}" <"$f" ;;
      *.sql.gz) echo "$0: running $f"; gunzip -c "$f" | "${client[@]}" ;;
      *.sql.xz) echo "$0: running $f"; xzcat "$f" | "${client[@]}" ;;
      */\*) ;;
      *) echo "$0: ignoring $f" ;;
    esac
  done
  mariadb-admin --defaults-extra-file="$client_conf" shutdown
  wait "$pid" || true
  rm -f "$client_conf"
  echo "$0: MariaDB init process done. Ready for start up."
fi

exec "$@"
