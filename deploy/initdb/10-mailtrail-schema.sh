#!/bin/sh
# 10-mailtrail-schema.sh: applies the mailtrail schema on the first start of
# the postgres container (run by the image's entrypoint from
# /docker-entrypoint-initdb.d, only when the data directory is empty).
# Reads the repository's sql/ folder mounted at /mailtrail-sql; same steps
# as docs/schema.md "Applying sql/ by hand": migrations in order, each
# recorded in schema_version; functions with body checks off; then views;
# then mailtrail.apply_security() (roles and grants) and a `grafana` login
# that is a member of mailtrail_reader.
# `mailtrail db migrate` later finds the schema current and only refreshes
# the functions and views.
set -eu
SQL_DIR=${MAILTRAIL_SQL_DIR:-/mailtrail-sql}
PSQL="psql -X -v ON_ERROR_STOP=1 --username $POSTGRES_USER --dbname $POSTGRES_DB"
for f in $SQL_DIR/migrations/*.sql; do
    name=$(basename "$f" .sql)
    v=$(echo "$name" | sed -E 's/^0*([0-9]+)_.*/\1/')
    $PSQL -1 -f "$f" \
        -c "INSERT INTO mailtrail.schema_version (version, description) VALUES ($v, '$name') ON CONFLICT DO NOTHING"
done
for f in $SQL_DIR/functions/*.sql; do
    PGOPTIONS='-c check_function_bodies=off' $PSQL -f "$f"
done
for f in $SQL_DIR/views/*.sql; do
    $PSQL -f "$f"
done
# The samples are from 2026-11-20: keep every day so the demo always loads them.
$PSQL -c "UPDATE mailtrail.settings SET value = '0' WHERE key = 'retention_days'"
# Roles and privileges (docs/security.md), then a read-only login for Grafana.
$PSQL -c "SELECT * FROM mailtrail.apply_security()"
$PSQL -v pw="${MAILTRAIL_GRAFANA_DB_PASSWORD:-grafana-demo}" \
    -c "CREATE ROLE grafana LOGIN PASSWORD :'pw' IN ROLE mailtrail_reader"

