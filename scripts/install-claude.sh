#!/usr/bin/env bash
# Installs the pinned Claude Code CLI into .cache/claude-code (the tests use it from there).
# Safe to run twice: it does nothing when the pinned version is already installed.
set -euo pipefail
version="2.1.197"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.cache/claude-code"
bin="$dest/node_modules/.bin/claude"
if [ -x "$bin" ] && grep -q "\"version\": \"$version\"" "$dest/node_modules/@anthropic-ai/claude-code/package.json" 2>/dev/null; then
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
