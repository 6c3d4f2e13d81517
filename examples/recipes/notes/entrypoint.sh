#!/bin/sh
# Start the notes app: check the admin secret is mounted, prepare the data volume, serve HTTP.
set -e
if [ ! -s /run/secrets/admin_password ]; then
  echo "notes: /run/secrets/admin_password is missing or empty" >&2
  exit 1
fi
mkdir -p /data/notes
cat >/var/www/index.html <<HTML
<!doctype html><title>${NOTES_TITLE:-notes}</title>
<h1>${NOTES_TITLE:-notes}</h1><p>version ${APP_VERSION:-unknown} on ${DOMAIN:-unknown}</p>
HTML
echo "notes ${APP_VERSION:-unknown}: serving on :80 for ${DOMAIN:-unknown}"
exec httpd -f -p 80 -h /var/www
