#!/usr/bin/env bash
# Makes sure Redis, PostgreSQL and MariaDB run on their standard loopback ports for the tests (and that the etcd
# binary is installed; the tests run their own etcd; and promtool, prometheus and docker-compose, which check deploy/
# and docker-compose.yml):
# installs them from Debian when missing, starts them when down, and prepares what the tests expect
# (PostgreSQL: trust auth on 127.0.0.1 for user postgres, database "test"; MariaDB: root with an empty
# password over TCP, database "test"). Idempotent and quiet; prints only what it had to fix, and fails loudly.
set -euo pipefail

log() { echo "services: $*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
wait_for() { # wait_for <description> <command...>: up to 30 s
  local what=$1; shift
  for _ in $(seq 1 60); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  log "$what did not come up"; return 1
}

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
{ command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; } || missing+=(mariadb-server)
# etcd is only installed, never run as a service: the discovery tests start their own on loopback ports
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
# Debian's prometheus package brings promtool too; DeployFilesTest runs both, ComposeFilesTest docker-compose
{ command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; } || missing+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
# ConsoleBrowserTest drives the admin console in headless Chromium through its driver
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq >/dev/null
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Redis
if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  log "starting redis"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null
  wait_for redis redis-cli -h 127.0.0.1 ping
fi

# --- PostgreSQL
pg_version=$(ls /etc/postgresql | sort -V | tail -n 1)
if ! pg_isready -q -h 127.0.0.1; then
  log "starting postgresql $pg_version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start
  wait_for postgresql pg_isready -q -h 127.0.0.1
fi
if ! psql -h 127.0.0.1 -U postgres -w -tAc "select 1" >/dev/null 2>&1; then
  log "postgres: trust for postgres on 127.0.0.1"
  # the first matching line wins, so the trust rules go on top
  as_root sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' \
    "/etc/postgresql/$pg_version/main/pg_hba.conf"
  as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" main reload
  wait_for "postgres trust auth" psql -h 127.0.0.1 -U postgres -w -tAc "select 1"
fi
if ! psql -h 127.0.0.1 -U postgres -w -tAc "select 1 from pg_database where datname = 'test'" | grep -q 1; then
  log "postgres: creating database test"
  psql -h 127.0.0.1 -U postgres -w -qc "create database test" >/dev/null
fi

# --- MariaDB
if ! mysqladmin -h 127.0.0.1 -uroot ping >/dev/null 2>&1 && ! as_root mysqladmin ping >/dev/null 2>&1; then
  log "starting mariadb"
  as_root mkdir -p /run/mysqld
  as_root chown mysql:mysql /run/mysqld 2>/dev/null || true
  as_root start-stop-daemon --start --oknodo --background --chuid mysql --exec /usr/sbin/mariadbd -- \
    --bind-address=127.0.0.1 --port=3306
  wait_for mariadb as_root mysqladmin ping
fi
if ! mysql -h 127.0.0.1 -uroot -e "select 1" >/dev/null 2>&1; then
  log "mariadb: root over TCP with an empty password"
  # Debian's root uses unix_socket auth; the tests connect over TCP without a password
  as_root mysql -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket;
    CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
    GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;"
fi
mysql -h 127.0.0.1 -uroot -e "CREATE DATABASE IF NOT EXISTS test" >/dev/null
