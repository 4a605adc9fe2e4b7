#!/bin/sh
# Refresh the translation catalogues from the source, then compile them.
#
#   sh scripts/messages.sh            makemessages (django + djangojs, es and it) + compilemessages
#   sh scripts/messages.sh --compile  compilemessages only (after editing a .po file)
#
# Needs GNU gettext (xgettext, msgmerge, msgfmt: Debian's `gettext`, which
# scripts/ensure-packages.sh installs). The compiled .mo files are committed, so `make run`
# never needs gettext. tests/app/test_translations.py fails when a catalogue is out of date
# or a string has no translation.
set -eu
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
command -v msgfmt >/dev/null 2>&1 || { echo "messages.sh: GNU gettext is missing (apt-get install gettext)" >&2; exit 1; }

# What is not ours, or not shown to people: the virtualenv, npm's tree, the vendored browser
# libraries, collected static files, tests, benchmarks and the API client (no Django there).
IGNORE="--ignore=.venv --ignore=node_modules --ignore=static/vendor --ignore=var --ignore=tests \
--ignore=bench --ignore=interactions_client --ignore=examples --ignore=deploy --ignore=build"

if [ "${1:-}" != "--compile" ]; then
    # shellcheck disable=SC2086
    "$PY" manage.py makemessages -d django -l es -l it $IGNORE --no-obsolete --add-location=file
    # shellcheck disable=SC2086
    "$PY" manage.py makemessages -d djangojs -l es -l it $IGNORE --no-obsolete --add-location=file
fi
"$PY" manage.py compilemessages --locale es --locale it --ignore=.venv --ignore=node_modules
