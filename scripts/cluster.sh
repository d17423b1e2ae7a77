#!/usr/bin/env bash
# Redis, two web processes and a producer worker on this machine: the
# topology of docker-compose.yml without Docker. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
WEB_PORTS=${WEB_PORTS:-"8001 8002"}
REDIS_PORT=${REDIS_PORT:-6390}
RUN_DIR=${RUN_DIR:-.cluster}
mkdir -p "$RUN_DIR"

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo "Stopping the cluster…"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

if [ -z "${REDIS_URL:-}" ]; then
  command -v redis-server >/dev/null || { echo "redis-server is not installed (apt-get install redis-server)"; exit 1; }
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$RUN_DIR" --logfile redis.log &
  pids+=($!)
  export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
fi
export DATABASE_URL=${DATABASE_URL:-"sqlite:///$PWD/$RUN_DIR/cluster.sqlite3"}

$PY manage.py migrate --noinput -v 0
$PY manage.py seed
for port in $WEB_PORTS; do
  $PY manage.py serve --no-producer --host "${HOST:-127.0.0.1}" --port "$port" >"$RUN_DIR/web-$port.log" 2>&1 &
  pids+=($!)
  echo "web process on http://${HOST:-127.0.0.1}:$port/  (log: $RUN_DIR/web-$port.log)"
done
$PY manage.py produce >"$RUN_DIR/worker.log" 2>&1 &
pids+=($!)
echo "worker: manage.py produce (log: $RUN_DIR/worker.log); fan-out through $REDIS_URL"
echo "Log in as demo / demo. Ctrl-C stops the cluster."
wait -n "${pids[@]}"
echo "A process of the cluster exited; see the logs in $RUN_DIR/."
