#!/bin/sh
# backupbot hooks of the ledger database:
#   pg_backup.sh backup   dump the database into the volume (backupbot then saves backup.sql)
#   pg_backup.sh restore  load the restored dump (it drops what it recreates), then remove it
set -eu
dump=/var/lib/postgresql/data/backup.sql
case "${1:-}" in
  backup)
    pg_dump -U "$POSTGRES_USER" --clean --if-exists "$POSTGRES_DB" >"$dump.tmp"
    mv "$dump.tmp" "$dump"
    ;;
  restore)
    psql -X -q -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -f "$dump" >/dev/null
    rm -f "$dump"
    ;;
  *)
    echo "usage: pg_backup.sh backup|restore" >&2
    exit 2
    ;;
esac
