#!/usr/bin/env bash
# `make run`: the whole platform on this machine, at http://localhost:8080.
#
#   1. the local Kafka broker (infra/kafka/kafka.sh; skipped when KAFKA_BOOTSTRAP_SERVERS is set)
#   2. the topic catalogue (nmd-topics provision)
#   3. every service's database (SQLite under NMD_VAR_DIR, or <SERVICE>_DATABASE_URL)
#   4. on first run: a staff account (its password is printed once) and sample content
#   5. every web and worker process of the Procfile and the gateway, under honcho: Ctrl-C stops them all
#
# A second run keeps every piece of data: nothing here deletes anything.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
export PATH="$REPO/.venv/bin:$PATH"
export NMD_VAR_DIR=${NMD_VAR_DIR:-$REPO/var}
export PYTHONUNBUFFERED=1
GATEWAY="http://localhost:${GATEWAY_PORT:-8080}"
mkdir -p "$NMD_VAR_DIR/mail"

say() { printf 'run: %s\n' "$*" >&2; }

if [[ -z ${KAFKA_BOOTSTRAP_SERVERS:-} ]]; then
    say "starting the local Kafka broker (its first start downloads Kafka's jars)"
    KAFKA_BOOTSTRAP_SERVERS=$(infra/kafka/kafka.sh start | sed -n 's/^KAFKA_BOOTSTRAP_SERVERS=//p')
    export KAFKA_BOOTSTRAP_SERVERS
    # The broker this run started stops with it (its data stays for the next run).
    trap 'say "stopping the local Kafka broker"; infra/kafka/kafka.sh stop >/dev/null' EXIT
fi
say "Kafka at $KAFKA_BOOTSTRAP_SERVERS; provisioning the topics"
nmd-topics provision --bootstrap "$KAFKA_BOOTSTRAP_SERVERS"
say "migrating the databases"
python -m infra.migrate

if [[ -z $(nmd-staff list) ]]; then
    say "creating the staff account 'admin' (every role). Keep its password: it is shown only this once."
    nmd-staff add admin --role admin --generate
fi
python -m infra.sample_content load --first-run-only

cat <<MESSAGE

  National Mentoring Day is starting at $GATEWAY/
    staff pages   $GATEWAY/staff/  (user admin; a new password: .venv/bin/nmd-staff set-password admin --generate)
    emails        $NMD_VAR_DIR/mail/<address>/<what>.eml  (open one in any mail program, or just read it)
    API docs      $GATEWAY/partners/docs  $GATEWAY/stories/docs  $GATEWAY/newsletter/docs  $GATEWAY/pages/docs
    sample data   remove it with: .venv/bin/python -m infra.sample_content remove
  Ctrl-C stops everything; the data stays in $NMD_VAR_DIR for the next run.

MESSAGE
# Ctrl-C (or a SIGINT/SIGTERM to this script) is passed to honcho, which stops every process; this shell waits for
# it, then runs the EXIT trap.
honcho start -f Procfile &
honcho=$!
trap 'kill -TERM "$honcho" 2>/dev/null || true' INT TERM
while kill -0 "$honcho" 2>/dev/null; do wait "$honcho" || true; done
