#!/bin/sh
# GET /cgi-bin/ledger                        -> every entry: id, note, one per line
# GET /cgi-bin/ledger?add=NOTE               -> store an entry (NOTE: letters, digits, - and _)
# GET /cgi-bin/ledger?about                  -> version, schema version and mail settings
set -a
. /etc/ledger/ledger.conf
set +a
printf 'Content-Type: text/plain\r\n\r\n'
param() { printf '%s' "$QUERY_STRING" | tr '&' '\n' | sed -n "s/^$1=//p" | head -n1; }
case "$QUERY_STRING" in
  about)
    echo "version $LEDGER_VERSION"
    echo "schema $(psql -X -At -c 'SELECT version FROM schema_version')"
    echo "mail ${SMTP_HOST:-none} from ${SMTP_FROM:-none}"
    ;;
  add=*)
    note=$(param add | tr -cd 'A-Za-z0-9_-')
    [ -n "$note" ] || { echo "error: empty note"; exit 0; }
    psql -X -q -v ON_ERROR_STOP=1 -c "INSERT INTO entries (note) VALUES ('$note')" &&
      echo "added $note"
    ;;
  *)
    psql -X -At -F ' ' -c 'SELECT id, note FROM entries ORDER BY id'
    ;;
esac
