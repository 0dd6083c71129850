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
# A hung test fails after TEST_TIMEOUT_MS. No --test-force-exit: with concurrency it drops the
# tail of a file's results before the parent reads them (nodejs/node#64833), so counts shrink
# silently. A file that never exits (a handle left open) is caught by the overall time limit.
exec timeout --kill-after=10 "${TEST_RUN_TIMEOUT_S:-1500}" \
  node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" \
  --test-timeout="${TEST_TIMEOUT_MS:-180000}" "${files[@]}"
