#!/usr/bin/env bash
# Installs a Claude Code CLI for the tests: the pinned release into .cache/claude-code (the
# tests use it from there unless CLEARCTX_TEST_CLAUDE says otherwise), or the release given
# as the first argument into .cache/claude-code-<version>. Prints the binary's path.
# Safe to run twice: it does nothing when that version is already installed.
set -euo pipefail
# The release users install today. Claude Code ships often: move this forward knowingly,
# and keep the oldest release still supported in scripts/test.sh.
pinned="2.1.332"
version="${1:-$pinned}"
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ "$version" = "$pinned" ]; then
  dest="$root/.cache/claude-code"
else
  dest="$root/.cache/claude-code-$version"
fi
bin="$dest/node_modules/.bin/claude"
if [ -x "$bin" ] && grep -q "\"version\": \"$version\"" "$dest/node_modules/@anthropic-ai/claude-code/package.json" 2>/dev/null; then
  echo "$bin"
  exit 0
fi
mkdir -p "$dest"
cd "$dest"
[ -f package.json ] || echo '{"name":"clearctx-test-claude","private":true}' > package.json
echo "installing @anthropic-ai/claude-code@$version into $dest" >&2
npm install --no-audit --no-fund --loglevel=error "@anthropic-ai/claude-code@$version" >&2
# npm 11 skips install scripts by default; the package needs its own to place the binary.
node node_modules/@anthropic-ai/claude-code/install.cjs >&2 || true
"$bin" --version >&2
echo "$bin"
