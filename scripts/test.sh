#!/usr/bin/env bash
# Runs every test: installs what the tests need (the pinned Claude Code CLI, for the tests
# that drive the real `claude` against a mock model), then the whole workspace's tests.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/install-claude.sh
# The standard plugins, the fixtures and scaffolded plugins build for this target.
rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
cargo test --workspace --locked "$@"
