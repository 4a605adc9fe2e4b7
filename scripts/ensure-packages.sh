#!/bin/sh
# Make sure the Debian packages the tests drive are there: Chromium for the browser tests
# (tests/e2e; Playwright never downloads a browser of its own) and nginx for the test of
# the shipped proxy configuration (tests/deploy/test_proxy.py); npm (with node) for the
# JavaScript linter `make lint` runs; gettext (msgfmt, xgettext) for scripts/messages.sh and
# the catalogue test (tests/app/test_translations.py).
#
# Missing ones are installed with apt-get, which needs root (or passwordless sudo).
# Non-interactive, for CI; any failure stops `make test` loudly.
set -eu

CHROMIUM=/usr/bin/chromium
NGINX=/usr/sbin/nginx

fail() {
    echo "ensure-packages: $*" >&2
    exit 1
}

missing=""
[ -x "$CHROMIUM" ] || missing="$missing chromium"
[ -x "$NGINX" ] || missing="$missing nginx-light"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
command -v msgfmt >/dev/null 2>&1 || missing="$missing gettext"
[ -n "$missing" ] || exit 0

if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n"
else
    fail "missing:$missing; installing needs root: run 'apt-get update && apt-get install -y$missing' as root."
fi
command -v apt-get >/dev/null 2>&1 || fail "missing:$missing, and apt-get is not available here."

echo "ensure-packages: installing$missing" >&2
$as_root env DEBIAN_FRONTEND=noninteractive apt-get update || fail "apt-get update failed."
# shellcheck disable=SC2086
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing \
    || fail "apt-get install -y$missing failed."

[ -x "$CHROMIUM" ] || fail "the chromium package is installed but $CHROMIUM is still missing."
"$CHROMIUM" --version >&2 || fail "$CHROMIUM does not run."
[ -x "$NGINX" ] || fail "the nginx-light package is installed but $NGINX is still missing."
