#!/usr/bin/env bash
# Runs every test: installs what the tests need (Claude Code CLIs, for the tests that drive
# the real `claude` against a mock model), then the whole workspace's tests, then the tests
# that drive the real CLI once more on the oldest Claude Code release still supported.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# The oldest release clearctx still supports (tool loading, costs and budgets differ).
oldest="2.1.197"
scripts/install-claude.sh >/dev/null
oldest_bin="$(scripts/install-claude.sh "$oldest")"
# The standard plugins, the fixtures and scaffolded plugins build for this target.
rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
cargo test --workspace --locked "$@"
if [ $# -eq 0 ]; then
  # The standard plugins' own unit tests, natively (they are a workspace of their own).
  cargo test --manifest-path plugins/Cargo.toml --locked
  # The benchmarks are not run here (BENCHMARKS.md says how), but they must keep building.
  cargo build --workspace --locked --benches
fi
if [ $# -eq 0 ]; then
  echo "== the tests that drive the real CLI, on Claude Code $oldest" >&2
  # --workspace: the same features as the run above, so nothing is built again.
  CLEARCTX_TEST_CLAUDE="$oldest_bin" cargo test --workspace --locked --test claude_cli --test sessions --test teams --test chat --test setup
fi
