#!/usr/bin/env bash
# What the Docker image does, without Docker: build wheels, install them in a clean
# virtualenv, then with production settings against PostgreSQL and Redis run
# `check --deploy`, collectstatic, migrate, start Daphne and probe it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d /tmp/deploy-check.XXXXXX)
DB="deploy_check_$$"
PORT=${DEPLOY_CHECK_PORT:-8871}
DAPHNE_PID=""

cleanup() {
    [ -n "$DAPHNE_PID" ] && kill "$DAPHNE_PID" 2>/dev/null || true
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
step() { echo "deploy-check: $*"; }

sh scripts/ensure-services.sh

step "building wheels and installing them in a clean virtualenv"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q --upgrade pip
"$WORK/venv/bin/pip" wheel -q --wheel-dir "$WORK/wheels" "$ROOT"
"$WORK/venv/bin/pip" install -q "$WORK"/wheels/*.whl
mkdir -p "$WORK/app"
cp -r manage.py templates static "$WORK/app/"

psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $DB" >/dev/null
redis-cli -h 127.0.0.1 -n 8 FLUSHDB >/dev/null

export DEBUG=false
export SECRET_KEY="$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(50))')"
export ALLOWED_HOSTS=127.0.0.1
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export REDIS_URL="redis://127.0.0.1:6379/8"
export VAR_DIR="$WORK/data"
export APP_ROOT="$WORK/app"
export STATIC_ROOT="$WORK/app/staticfiles"
export GEMINI_API_KEY="deploy-check-key"
export METRICS_TOKEN="$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(32))')"
export GOOGLE_GEMINI_BASE_URL="http://127.0.0.1:9"
export PYTHONPATH=""
cd "$WORK/app"
PY="$WORK/venv/bin/python"

step "refusing to start half-configured"
if SECRET_KEY="" "$PY" manage.py check >"$WORK/refused.txt" 2>&1; then
    echo "deploy-check: started without SECRET_KEY" >&2; exit 1
fi
grep -q "SECRET_KEY" "$WORK/refused.txt"

step "manage.py check --deploy"
"$PY" manage.py check --deploy --fail-level WARNING
step "collectstatic and migrate"
"$PY" manage.py collectstatic --noinput -v 0
"$PY" manage.py migrate --noinput -v 0

step "starting Daphne with production settings on port $PORT"
"$WORK/venv/bin/daphne" --proxy-headers -b 127.0.0.1 -p "$PORT" chatapp.asgi:application \
    >"$WORK/daphne.log" 2>&1 &
DAPHNE_PID=$!
for _ in $(seq 1 50); do
    curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -fsS "http://127.0.0.1:$PORT/healthz" | grep -q '"ok"' || { cat "$WORK/daphne.log"; exit 1; }
curl -fsS "http://127.0.0.1:$PORT/readyz" | grep -q '"ready"' || { cat "$WORK/daphne.log"; exit 1; }

step "plain HTTP is redirected to HTTPS; pages carry the security headers"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/login/")
[ "$code" = "301" ] || { echo "expected a redirect to HTTPS, got $code" >&2; exit 1; }
headers=$(curl -s -D - -o /dev/null -H "X-Forwarded-Proto: https" "http://127.0.0.1:$PORT/login/")
echo "$headers" | grep -qi "strict-transport-security: max-age=31536000"
echo "$headers" | grep -qi "x-frame-options: DENY"
echo "$headers" | grep -qi "set-cookie: csrftoken=.*; Secure"
echo "$headers" | grep -qi "content-security-policy: default-src 'self'; script-src 'self' 'nonce-"
echo "$headers" | grep -qi "referrer-policy: same-origin"
echo "$headers" | grep -qi "permissions-policy: .*camera=()"

step "/metrics answers only with METRICS_TOKEN"
https=(-H "X-Forwarded-Proto: https")
code=$(curl -s -o /dev/null -w '%{http_code}' "${https[@]}" "http://127.0.0.1:$PORT/metrics")
[ "$code" = "404" ] || { echo "/metrics without the token: expected 404, got $code" >&2; exit 1; }
curl -fsS "${https[@]}" -H "Authorization: Bearer $METRICS_TOKEN" "http://127.0.0.1:$PORT/metrics" \
    | grep -q "^chat_open_sockets"

step "static files are compressed and cache-busted"
css=$(curl -fsS -H "X-Forwarded-Proto: https" "http://127.0.0.1:$PORT/login/" | grep -o '/static/css/app\.[0-9a-f]*\.css' | head -n 1)
[ -n "$css" ] || { echo "no hashed stylesheet in the page" >&2; exit 1; }
static_headers=$(curl -s -D - -o /dev/null -H "Accept-Encoding: gzip" -H "X-Forwarded-Proto: https" "http://127.0.0.1:$PORT$css")
echo "$static_headers" | grep -qi "content-encoding: gzip"
echo "$static_headers" | grep -qi "cache-control: max-age=315360000"

step "ok"
