# Versions of the swarm configs; bump one when its file changes so swarm gets a new config.
export APP_CONF_VERSION=v1
export ENTRYPOINT_VERSION=v1
export LEDGER_CGI_VERSION=v1
export MIGRATE_SQL_VERSION=v3
export PG_BACKUP_VERSION=v1
