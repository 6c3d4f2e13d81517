#!/bin/sh
# GET /cgi-bin/notes          -> every note, one per line
# GET /cgi-bin/notes?add=TEXT -> store TEXT (letters, digits, - and _ only) as a new note
printf 'Content-Type: text/plain\r\n\r\n'
text=$(printf '%s' "${QUERY_STRING#add=}" | tr -cd 'A-Za-z0-9_-')
if [ "${QUERY_STRING#add=}" != "$QUERY_STRING" ] && [ -n "$text" ]; then
  printf '%s\n' "$text" >"/data/notes/$(date +%s)-$$"
  echo "added $text"
else
  cat /data/notes/* 2>/dev/null || true
fi
