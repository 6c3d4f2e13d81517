#!/bin/sh
# Start the ledger app: read the rendered configuration, wait for the database, apply the
# schema migrations, write the front page, serve HTTP on :8080.
set -eu
set -a
. /etc/ledger/ledger.conf
set +a
tries=0
until pg_isready -q -t 2; do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "ledger: database $PGHOST does not answer" >&2; exit 1; }
  sleep 1
done
psql -X -q -v ON_ERROR_STOP=1 --single-transaction -f /etc/ledger/migrate.sql
mkdir -p /tmp/www/cgi-bin
cat >/tmp/www/index.html <<HTML
<!doctype html><title>${LEDGER_TITLE}</title>
<h1>${LEDGER_TITLE}</h1><p>version ${LEDGER_VERSION} on ${LEDGER_DOMAIN}</p>
HTML
ln -sf /var/www/cgi-bin/ledger /tmp/www/cgi-bin/ledger
echo "ledger ${LEDGER_VERSION}: schema $(psql -X -At -c 'SELECT version FROM schema_version') ready; serving on :8080 for ${LEDGER_DOMAIN}"
exec httpd -f -p 8080 -h /tmp/www
