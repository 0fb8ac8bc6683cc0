#!/usr/bin/env bash
# A local cluster on loopback: redis-server, three game servers and nginx balancing them.
#   deploy/cluster/run.sh            (or ./dev cluster) prints the URL; Ctrl-C stops everything
# Environment: CLUSTER_PORT (nginx, default 8080), CLUSTER_SERVERS (default 3),
# CLUSTER_BASE_PORT (first server port, default 8101), CLUSTER_REDIS_PORT (default 6390), CLUSTER_DRAIN_S (servers' drain timeout, default 5),
# PYTHON (default .venv/bin/python). Logs and the generated nginx.conf go to a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/../.."

PY=${PYTHON:-.venv/bin/python}
LB_PORT=${CLUSTER_PORT:-8080}
COUNT=${CLUSTER_SERVERS:-3}
BASE=${CLUSTER_BASE_PORT:-8101}
REDIS_PORT=${CLUSTER_REDIS_PORT:-6390}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pac-cluster.XXXXXX")
SERVER_PIDS=()

stop() {
  trap - INT TERM EXIT
  echo "cluster: stopping" >&2
  # In order, each waited for: the servers (SIGTERM: they hand their rooms over and exit),
  # then nginx, then Redis (which the hand-over needs).
  for group in "${SERVER_PIDS[*]:-}" "${NGINX_PID:-}" "${REDIS_PID:-}"; do
    for pid in $group; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in $group; do wait "$pid" 2>/dev/null || true; done
  done
  echo "cluster: stopped (logs in $WORK)" >&2
}
trap stop EXIT
trap 'stop; exit 0' INT TERM

wait_port() {  # port, name, pid
  for _ in $(seq 1 200); do
    if ! kill -0 "$3" 2>/dev/null; then
      echo "cluster: $2 exited; see $WORK" >&2
      return 1
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "cluster: $2 did not open port $1" >&2
  return 1
}

# Children get their own session (setsid), so a terminal's Ctrl-C reaches only this script,
# whose trap stops them in order.
setsid redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$WORK" --logfile "$WORK/redis.log" &
REDIS_PID=$!
wait_port "$REDIS_PORT" redis-server "$REDIS_PID"

UPSTREAMS=""
for i in $(seq 0 $((COUNT - 1))); do
  port=$((BASE + i))
  # DRAIN_TIMEOUT_S: a local cluster's Ctrl-C should not wait 20 s for lingering clients.
  HOST=127.0.0.1 PORT=$port REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" INSTANCE_ID="local-$i" \
    DRAIN_TIMEOUT_S="${CLUSTER_DRAIN_S:-5}" \
    FORWARDED_FOR_HOPS=1 LOG_FORMAT=text PUBLIC_URL="http://localhost:$LB_PORT/" \
    setsid "$PY" -m server >"$WORK/server-$i.log" 2>&1 &
  SERVER_PIDS+=($!)
  UPSTREAMS+="    server 127.0.0.1:$port max_fails=1 fail_timeout=2s;"$'\n'
done
for i in $(seq 0 $((COUNT - 1))); do
  wait_port $((BASE + i)) "server $i" "${SERVER_PIDS[$i]}"
done

cat >"$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/body;
  proxy_temp_path $WORK/proxy;
  fastcgi_temp_path $WORK/fastcgi;
  uwsgi_temp_path $WORK/uwsgi;
  scgi_temp_path $WORK/scgi;
  map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
  upstream pac { 
$UPSTREAMS  }
  server {
    listen 127.0.0.1:$LB_PORT;
    location / {
      proxy_pass http://pac;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_read_timeout 1h;
      proxy_next_upstream error timeout http_502 http_503;
    }
  }
}
CONF
setsid nginx -p "$WORK" -c "$WORK/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!
wait_port "$LB_PORT" nginx "$NGINX_PID"

echo "Pac-Arena cluster ($COUNT servers, Redis, nginx) is running at http://localhost:$LB_PORT/"
echo "logs: $WORK    stop: Ctrl-C"
wait "$NGINX_PID"
