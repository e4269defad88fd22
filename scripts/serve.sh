#!/usr/bin/env bash
# Starts the app for a shared server: N Streamlit processes on consecutive ports (FIRST_PORT, FIRST_PORT+1…) with
# the production flags, all on the store of $CPTS_GEO_STORE, for a reverse proxy with sticky sessions in front
# (README, « Serveur partagé »). Stays in the foreground (for systemd); stops every process on TERM or INT, and all
# of them, with an error, if one stops.
#
#   CPTS_GEO_STORE=postgresql://cpts@db.example.fr/cpts_geo ./scripts/serve.sh --processes 4 --port 8501 \
#       [--address 127.0.0.1] [--nginx /etc/nginx/conf.d/cpts-geo.conf --server-name cpts.example.fr [--listen 443]]
#
# --nginx writes the site's nginx configuration (HTTPS on --listen, certificate expected in
# /etc/ssl/certs/cpts-geo.pem and /etc/ssl/private/cpts-geo.key; « --listen 8080 » without « ssl »: plain HTTP).
#
# Environment: CPTS_GEO_STORE (required; postgresql://… for more than one process), CPTS_GEO_DATA (bundle, default
# data/, prepared if missing), CPTS_GEO_PYTHON (default .venv/bin/python, made by scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

PROCESSES=1 FIRST_PORT=8501 ADDRESS=127.0.0.1 NGINX_FILE="" SERVER_NAME=_ LISTEN="443 ssl"
PYTHON="${CPTS_GEO_PYTHON:-.venv/bin/python}"

fail() { echo "serve.sh : $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --processes) PROCESSES="${2:-}"; shift 2 ;;
    --port) FIRST_PORT="${2:-}"; shift 2 ;;
    --address) ADDRESS="${2:-}"; shift 2 ;;
    --nginx) NGINX_FILE="${2:-}"; shift 2 ;;
    --server-name) SERVER_NAME="${2:-}"; shift 2 ;;
    --listen) LISTEN="${2:-}"; shift 2 ;;
    *) fail "option inconnue « $1 » (voir l'en-tête de scripts/serve.sh)" ;;
  esac
done
[[ "$PROCESSES" =~ ^[1-9][0-9]?$ ]] || fail "--processes attend un nombre de processus de 1 à 99, pas « $PROCESSES »"
[[ "$FIRST_PORT" =~ ^[0-9]+$ ]] && [ "$FIRST_PORT" -ge 1024 ] && [ $((FIRST_PORT + PROCESSES - 1)) -le 65535 ] \
  || fail "--port attend le premier port (1024 à 65535 pour tous les processus), pas « $FIRST_PORT »"
[ -n "${CPTS_GEO_STORE:-}" ] || fail "CPTS_GEO_STORE n'est pas défini : l'adresse de la base PostgreSQL partagée \
(postgresql://utilisateur@serveur:5432/base), ou pour un seul processus le chemin d'un fichier SQLite"
if [ "$PROCESSES" -gt 1 ] && [[ ! "$CPTS_GEO_STORE" =~ ^postgres(ql)?:// ]]; then
  fail "$PROCESSES processus doivent partager une base PostgreSQL (CPTS_GEO_STORE=postgresql://…), pas un fichier"
fi
[ -x "$PYTHON" ] || fail "Python introuvable : $PYTHON (lancez scripts/setup.sh ou donnez CPTS_GEO_PYTHON)"

export CPTS_GEO_DATA="${CPTS_GEO_DATA:-data}"
"$PYTHON" -m cpts_geo prepare --if-needed --out "$CPTS_GEO_DATA" >&2
"$PYTHON" -m cpts_geo.storage.store || exit 2   # the store opens (tables made or migrated once, here), or a French error

if [ -n "$NGINX_FILE" ]; then
  {
    echo "# cpts-geo behind nginx: made by scripts/serve.sh ($PROCESSES processes from port $FIRST_PORT)."
    echo "# A visitor's requests (page, websocket, file uploads) all go to one process: the one picked by the"
    echo "# cpts_geo_route cookie set on the first request (sticky sessions without nginx Plus)."
    echo "map \$cookie_cpts_geo_route \$cpts_geo_route { \"\" \$request_id; default \$cookie_cpts_geo_route; }"
    echo "map \$http_upgrade \$cpts_geo_connection { default upgrade; \"\" close; }"
    echo "upstream cpts_geo {"
    echo "    hash \$cpts_geo_route consistent;"
    UPSTREAM_HOST="$ADDRESS"; [ "$ADDRESS" != 0.0.0.0 ] || UPSTREAM_HOST=127.0.0.1   # all addresses: this machine's
    for ((i = 0; i < PROCESSES; i++)); do echo "    server $UPSTREAM_HOST:$((FIRST_PORT + i));"; done
    echo "}"
    echo "server {"
    echo "    listen $LISTEN;"
    echo "    server_name $SERVER_NAME;"
    if [[ "$LISTEN" == *ssl* ]]; then
      echo "    ssl_certificate /etc/ssl/certs/cpts-geo.pem;"
      echo "    ssl_certificate_key /etc/ssl/private/cpts-geo.key;"
      SECURE="Secure; "
    fi
    echo "    client_max_body_size 200m;   # the app refuses larger files itself, with a French message"
    echo "    location / {"
    echo "        proxy_pass http://cpts_geo;"
    echo "        proxy_http_version 1.1;"
    echo "        proxy_set_header Upgrade \$http_upgrade;            # Streamlit's websocket"
    echo "        proxy_set_header Connection \$cpts_geo_connection;"
    echo "        proxy_set_header Host \$host;"
    echo "        proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;"
    echo "        proxy_set_header X-Forwarded-Proto \$scheme;"
    echo "        proxy_read_timeout 1d;                              # an open page keeps its websocket"
    echo "        add_header Set-Cookie \"cpts_geo_route=\$cpts_geo_route; Path=/; ${SECURE:-}HttpOnly; SameSite=Lax\";"
    echo "    }"
    echo "}"
  } >"$NGINX_FILE"
  echo "serve.sh : configuration nginx écrite dans $NGINX_FILE" >&2
fi

PIDS=()
stop() { trap - TERM INT; [ ${#PIDS[@]} -eq 0 ] || kill "${PIDS[@]}" 2>/dev/null || true; wait || true; }
trap 'stop; exit 0' TERM INT
for ((i = 0; i < PROCESSES; i++)); do
  PORT=$((FIRST_PORT + i))
  "$PYTHON" -m cpts_geo.web.server --server.port "$PORT" --server.address "$ADDRESS" --server.headless true \
    --server.fileWatcherType none --server.runOnSave false --server.enableXsrfProtection true \
    --client.showErrorDetails none --browser.gatherUsageStats false &
  PIDS+=($!)
  echo "serve.sh : processus $((i + 1))/$PROCESSES (pid $!) sur http://$ADDRESS:$PORT" >&2
done
set +e
wait -n
STATUS=$?
echo "serve.sh : un processus s'est arrêté (code $STATUS) : arrêt de tous les autres" >&2
stop
exit $((STATUS == 0 ? 1 : STATUS))
