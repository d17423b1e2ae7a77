#!/usr/bin/env bash
# Redis, two web processes (Daphne and uvicorn), a producer worker and the alerts
# worker on this machine: the processes and commands of docker-compose.yml without Docker.
# Ctrl-C stops everything. SEED_ARGS=--no-history skips generating history.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
DAPHNE=.venv/bin/daphne
HOST=${HOST:-127.0.0.1}
WEB_PORTS=${WEB_PORTS:-"8001 8002"}
REDIS_PORT=${REDIS_PORT:-6390}
RUN_DIR=${RUN_DIR:-.cluster}
mkdir -p "$RUN_DIR"
RUN_DIR=$(cd "$RUN_DIR" && pwd)

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo "Stopping the cluster…"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

# The Daphne web process with the limits `manage.py serve` applies (docs/operations.md).
daphne_web() {
  local port=$1
  local max_message=$(( 16 * ${PULSEBOARD_MAX_FRAME_BYTES:-65536} ))
  (( max_message < 1048576 )) && max_message=1048576
  exec "$DAPHNE" --bind "$HOST" --port "$port" \
    --ping-interval "${PULSEBOARD_WS_PING_INTERVAL:-30}" \
    --ping-timeout "${PULSEBOARD_WS_PING_TIMEOUT:-10}" \
    --websocket_timeout=-1 --websocket_connect_timeout=20 \
    --websocket-max-message-size "$max_message" --websocket-max-frame-size "$max_message" \
    config.asgi:application
}

uvicorn_web() {
  exec "$PY" manage.py serve --no-producer --host "$HOST" --port "$1"
}

if [ -z "${REDIS_URL:-}" ]; then
  command -v redis-server >/dev/null || { echo "redis-server is not installed (apt-get install redis-server)"; exit 1; }
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$RUN_DIR" --logfile redis.log &
  pids+=($!)
  export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
fi
export DATABASE_URL=${DATABASE_URL:-"sqlite:///$RUN_DIR/cluster.sqlite3"}

"$PY" manage.py migrate --noinput -v 0
"$PY" manage.py seed --new-passwords ${SEED_ARGS:-}
# The first web process is Daphne, the others uvicorn, as in docker-compose.yml.
server=daphne
for port in $WEB_PORTS; do
  "${server}_web" "$port" >"$RUN_DIR/web-$port.log" 2>&1 &
  pids+=($!)
  echo "web process ($server) on http://$HOST:$port/  (log: $RUN_DIR/web-$port.log)"
  server=uvicorn
done
# Alert notices are sent by the alerts worker alone, as in docker-compose.yml.
PULSEBOARD_ALERT_SENDER=0 "$PY" manage.py produce >"$RUN_DIR/worker.log" 2>&1 &
pids+=($!)
echo "worker: manage.py produce (log: $RUN_DIR/worker.log); fan-out through $REDIS_URL"
"$PY" manage.py sendalerts >"$RUN_DIR/alerts.log" 2>&1 &
pids+=($!)
echo "alerts worker: manage.py sendalerts (log: $RUN_DIR/alerts.log)"
echo "Log in with the demo login seed printed above. Ctrl-C stops the cluster."
wait -n "${pids[@]}"
echo "A process of the cluster exited; see the logs in $RUN_DIR/."
