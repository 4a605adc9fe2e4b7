#!/bin/sh
# Make sure Debian's Chromium is there for the browser tests (tests/e2e).
#
# Playwright drives /usr/bin/chromium; it never downloads a browser of its own. When the
# binary is missing this installs Debian's `chromium` package with apt-get, which needs root
# (or passwordless sudo). Non-interactive, for CI; any failure stops `make test` loudly.
set -eu

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

fail() {
    echo "ensure-chromium: $*" >&2
    echo "ensure-chromium: the browser tests need $CHROMIUM (Debian's chromium package)." >&2
    exit 1
}

if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n"
else
    fail "$CHROMIUM is missing and installing it needs root: run 'apt-get update && apt-get install -y chromium' as root."
fi
command -v apt-get >/dev/null 2>&1 || fail "$CHROMIUM is missing and apt-get is not available here."

echo "ensure-chromium: $CHROMIUM is missing; installing Debian's chromium package" >&2
$as_root env DEBIAN_FRONTEND=noninteractive apt-get update || fail "apt-get update failed."
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium \
    || fail "apt-get install -y chromium failed."

[ -x "$CHROMIUM" ] || fail "the chromium package is installed but $CHROMIUM is still missing."
"$CHROMIUM" --version >&2 || fail "$CHROMIUM does not run."
