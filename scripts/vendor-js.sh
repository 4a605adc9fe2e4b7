#!/bin/sh
# Fetch the pinned browser libraries with `npm pack` and copy what the pages load (with each
# licence) under static/vendor/; axe-core is test-only and goes under tests/vendor/.
# Change a version here, run `scripts/vendor-js.sh`, review and commit the result.
set -eu

MARKDOWN_IT=15.0.3
TASK_LISTS=2.1.1
DOMPURIFY=3.5.0
KATEX=0.19.1
MERMAID=12.3.0
HIGHLIGHT_JS=11.12.0
AXE_CORE=4.14.1

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

unpack() { # name version → $work/name/package
  mkdir -p "$work/$1"
  (cd "$work/$1" && npm pack --silent "$1@$2" >/dev/null && tar xzf ./*.tgz)
  echo "$1@$2"
}

put() { # source-file destination-dir
  mkdir -p "$2"
  cp "$1" "$2/"
}

static="$root/static/vendor"
rm -rf "$static" "$root/tests/vendor"

unpack markdown-it "$MARKDOWN_IT"
put "$work/markdown-it/package/dist/browser/markdown-it.umd.min.js" "$static/markdown-it"
put "$work/markdown-it/package/LICENSE" "$static/markdown-it"

unpack markdown-it-task-lists "$TASK_LISTS"
put "$work/markdown-it-task-lists/package/dist/markdown-it-task-lists.min.js" "$static/markdown-it"
cp "$work/markdown-it-task-lists/package/LICENSE" "$static/markdown-it/LICENSE-task-lists"

unpack dompurify "$DOMPURIFY"
put "$work/dompurify/package/dist/purify.min.js" "$static/dompurify"
put "$work/dompurify/package/LICENSE" "$static/dompurify"
put "$work/dompurify/package/LICENSE-MPL" "$static/dompurify"

unpack katex "$KATEX"
put "$work/katex/package/dist/katex.min.js" "$static/katex"
put "$work/katex/package/LICENSE" "$static/katex"
# Browsers we support all read woff2: keep only those fonts (the CSS names nothing else).
sed -E 's/,url\(fonts\/[A-Za-z0-9_-]+\.woff\) format\("woff"\),url\(fonts\/[A-Za-z0-9_-]+\.ttf\) format\("truetype"\)//g' \
  "$work/katex/package/dist/katex.min.css" >"$static/katex/katex.min.css"
mkdir -p "$static/katex/fonts"
cp "$work/katex/package/dist/fonts/"*.woff2 "$static/katex/fonts/"
if grep -qE '\.(woff|ttf)\)' "$static/katex/katex.min.css"; then
  echo "katex.min.css still names woff/ttf fonts: update the sed above" >&2
  exit 1
fi

unpack mermaid "$MERMAID"
put "$work/mermaid/package/dist/mermaid.min.js" "$static/mermaid"
put "$work/mermaid/package/LICENSE" "$static/mermaid"

# The "common" languages build (about 36 languages) and the accessible (WCAG AA) light and dark themes.
unpack @highlightjs/cdn-assets "$HIGHLIGHT_JS"
put "$work/@highlightjs/cdn-assets/package/highlight.min.js" "$static/highlight.js"
put "$work/@highlightjs/cdn-assets/package/LICENSE" "$static/highlight.js"
put "$work/@highlightjs/cdn-assets/package/styles/a11y-light.min.css" "$static/highlight.js"
put "$work/@highlightjs/cdn-assets/package/styles/a11y-dark.min.css" "$static/highlight.js"

unpack axe-core "$AXE_CORE"
put "$work/axe-core/package/axe.min.js" "$root/tests/vendor/axe-core"
put "$work/axe-core/package/LICENSE" "$root/tests/vendor/axe-core"

# Source maps are not vendored: drop the comments naming them (collectstatic would look for them).
find "$static" "$root/tests/vendor" -type f -name '*.js' -exec sed -i '/^\/\/# sourceMappingURL=/d' {} +

cat >"$static/VERSIONS" <<VERSIONS
markdown-it $MARKDOWN_IT
markdown-it-task-lists $TASK_LISTS
dompurify $DOMPURIFY
katex $KATEX
mermaid $MERMAID
highlight.js $HIGHLIGHT_JS
VERSIONS
echo "axe-core $AXE_CORE" >"$root/tests/vendor/VERSIONS"
