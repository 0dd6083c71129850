#!/usr/bin/env bash
# Runs the unit tests (src/**/*.test.ts), the integration tests (test/**/*.test.ts), or both.
# Node 20's `node --test` neither finds .ts files nor expands quoted globs, so the list is built
# here, and an empty list is an error rather than a silent pass.
set -euo pipefail
shopt -s globstar nullglob
cd "$(dirname "$0")/.."

kind="${1:-all}"
shift || true
files=()
case "$kind" in
  unit) files=(src/**/*.test.ts) ;;
  integration) files=(test/**/*.test.ts) ;;
  all) files=(src/**/*.test.ts test/**/*.test.ts) ;;
  *) files=("$kind" "$@") ;;
esac
if [ "${#files[@]}" -eq 0 ]; then
  echo "run-tests: no test files found for '$kind'" >&2
  exit 1
fi
# A hung test fails after TEST_TIMEOUT_MS instead of stalling CI; --test-force-exit ends a file
# whose tests are done even if a stray handle is left open.
exec node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" \
  --test-timeout="${TEST_TIMEOUT_MS:-180000}" --test-force-exit "${files[@]}"
