#!/usr/bin/env bash
# The Vendure peer of anycart's checkout benchmark, in one run: installs Vendure
# (bench/vendure/package-lock.json) into a scratch folder, creates a fresh
# PostgreSQL database, starts server.mjs on it, runs
# `cargo run --release -p anycart-bench --bin checkout -- --vendure …` with any
# arguments given here passed through, then stops Vendure and drops the database.
#
# Manual only: it needs Node 20+, npm (registry access) and a local PostgreSQL.
# It is not part of CI or scripts/test. See bench/vendure/README.md.
#
#   bench/vendure/run.sh --concurrency 1,8,32 --rates 10,25 --seconds 8
#
# Environment (defaults in brackets):
#   VENDURE_DIR       scratch folder for the install   [/tmp/vendure-bench]
#   VENDURE_PG_ADMIN  PostgreSQL URL to create/drop the database from
#                     [postgres://postgres@127.0.0.1:5432/test]
#   VENDURE_DB        name of the scratch database (dropped first if it exists!)
#                     [vendure_bench]
#   VENDURE_PORT      port Vendure serves on           [3100]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dir="${VENDURE_DIR:-/tmp/vendure-bench}"
admin="${VENDURE_PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}"
db="${VENDURE_DB:-vendure_bench}"
port="${VENDURE_PORT:-3100}"
db_url="${admin%/*}/$db"

for tool in node npm psql cargo curl; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is needed" >&2; exit 1; }
done
if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
    echo "run.sh: something already listens on port $port (set VENDURE_PORT)" >&2
    exit 1
fi

echo "== installing Vendure into $dir"
mkdir -p "$dir"
cp "$here/package.json" "$here/package-lock.json" "$here/server.mjs" "$here/product.csv" "$dir/"
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)

echo "== fresh database $db"
psql -q "$admin" -c "DROP DATABASE IF EXISTS \"$db\"" -c "CREATE DATABASE \"$db\""

pid=""
cleanup() {
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    psql -q "$admin" -c "DROP DATABASE IF EXISTS \"$db\"" || true
}
trap cleanup EXIT

echo "== starting Vendure (log: $dir/server.log)"
(cd "$dir" && exec env VENDURE_DB_URL="$db_url" VENDURE_PORT="$port" node server.mjs) >"$dir/server.log" 2>&1 &
pid=$!
ready=""
for _ in $(seq 300); do
    ready="$(grep -m1 '^READY ' "$dir/server.log" || true)"
    [[ -n "$ready" ]] && break
    kill -0 "$pid" 2>/dev/null || { echo "run.sh: Vendure exited:" >&2; tail -30 "$dir/server.log" >&2; exit 1; }
    sleep 1
done
[[ -n "$ready" ]] || { echo "run.sh: Vendure not ready after 300 s" >&2; exit 1; }
read -r _ shop_api variant <<<"$ready"
echo "== Vendure $shop_api (pid $pid), variant $variant"

cd "$repo"
cargo run --release -p anycart-bench --bin checkout -- \
    --vendure "$shop_api" --vendure-variant "$variant" --vendure-pid "$pid" \
    --vendure-database "$db_url" "$@"
