#!/usr/bin/env bash
# A real PostgreSQL for the API tests (tests/test_api.py runs its storage tests against it).
# Debian's `postgresql` package, one cluster on 127.0.0.1, a user and database `furnsim_test`.
# Prints the database URL as the only line on stdout:
#   export FURNSIM_TEST_PG_URL=$(bash scripts/ci_postgres.sh)
set -euo pipefail
if [ "$(id -u)" = 0 ]; then
  SUDO=()
  as_pg() { runuser -u postgres -- "$@"; }
else
  SUDO=(sudo)
  as_pg() { sudo -u postgres "$@"; }
fi
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "installing postgresql (apt)" >&2
  "${SUDO[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq postgresql >&2
fi
ver=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$ver main"; then
  "${SUDO[@]}" pg_createcluster "$ver" main >&2
fi
port=$(pg_lsclusters -h | awk -v v="$ver" '$1==v && $2=="main" {print $3}')
if ! pg_lsclusters -h | awk -v v="$ver" '$1==v && $2=="main" {print $4}' | grep -q online; then
  "${SUDO[@]}" pg_ctlcluster "$ver" main start >&2
fi
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 1
done
pg_isready -h 127.0.0.1 -p "$port" >&2
user=furnsim_test
pass=furnsim_test
db=furnsim_test
if [ "$(as_pg psql -p "$port" -tAc "SELECT 1 FROM pg_roles WHERE rolname='$user'")" != 1 ]; then
  as_pg psql -q -p "$port" -v ON_ERROR_STOP=1 -c "CREATE ROLE $user LOGIN PASSWORD '$pass'" >&2
fi
if [ "$(as_pg psql -p "$port" -tAc "SELECT 1 FROM pg_database WHERE datname='$db'")" != 1 ]; then
  as_pg createdb -p "$port" -O "$user" "$db" >&2
fi
echo "postgresql://$user:$pass@127.0.0.1:$port/$db"
