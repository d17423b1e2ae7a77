#!/usr/bin/env bash
# Redis, two web processes (Daphne and uvicorn), a producer worker (with the MQTT
# bridges), the alerts worker and mosquitto on this machine: the processes and
# commands of docker-compose.yml without Docker.
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

# An MQTT broker for devices, kept on disk, with no cap on what waits for a bridge
# that is away (docs/ingest.md); MQTT_PORT=0 starts none.
MQTT_PORT=${MQTT_PORT:-1884}
if [ "$MQTT_PORT" != 0 ] && [ -x /usr/sbin/mosquitto ]; then
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\nmax_queued_messages 0\n' \
    "$MQTT_PORT" "$RUN_DIR" >"$RUN_DIR/mosquitto.conf"
  /usr/sbin/mosquitto -c "$RUN_DIR/mosquitto.conf" >"$RUN_DIR/mosquitto.log" 2>&1 &
  pids+=($!)
  echo "MQTT broker (mosquitto) on mqtt://127.0.0.1:$MQTT_PORT (log: $RUN_DIR/mosquitto.log);" \
    "connect it from the Devices page with PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS=127.0.0.1/32"
fi

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
# The worker runs the MQTT bridges too.
PULSEBOARD_MQTT_BRIDGES=1 PULSEBOARD_ALERT_SENDER=0 "$PY" manage.py produce >"$RUN_DIR/worker.log" 2>&1 &
pids+=($!)
echo "worker: manage.py produce (log: $RUN_DIR/worker.log); fan-out through $REDIS_URL"
"$PY" manage.py sendalerts >"$RUN_DIR/alerts.log" 2>&1 &
pids+=($!)
echo "alerts worker: manage.py sendalerts (log: $RUN_DIR/alerts.log)"
echo "Log in with the demo login seed printed above. Ctrl-C stops the cluster."
wait -n "${pids[@]}"
echo "A process of the cluster exited; see the logs in $RUN_DIR/."
