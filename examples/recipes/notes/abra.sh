# Versions of the swarm configs; bump one when its file changes so swarm gets a new config.
export ENTRYPOINT_VERSION=v1
export NOTES_CGI_VERSION=v1
