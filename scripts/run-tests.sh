#!/usr/bin/env bash
# Runs the unit tests (src/**/*.test.ts), the integration tests (test/integration/**/*.test.ts),
# both (all), the memory soak (soak: test/soak/**/*.test.ts, with longer time limits), or the
# files given.
# Node 20's `node --test` neither finds .ts files nor expands quoted globs, so the list is built
# here, and an empty list is an error rather than a silent pass.
#
# Every run:
# - builds dist/ first: the tests run the built CLI (dist/cli/main.js), so they never test a stale
#   build, and no test transpiles the sources again on each call;
# - gets one root directory (printed at the start) holding every temp file of the run: each test
#   file's TMPDIR and the PostgreSQL template data directories (one initdb per flavor per run);
# - runs the test files in a process group of their own, with a per-file time limit
#   (TEST_TIMEOUT_MS) and an overall one (TEST_RUN_TIMEOUT_S);
# - at the end, however it ends (pass, fail, time limit, Ctrl-C, SIGTERM), stops whatever is still
#   running, fails if the tests had left any process or temp directory behind, and removes the
#   root.
# The braces make bash read the whole script before running it, so that editing or checking out
# this file during a run cannot change what the run does.
{
set -euo pipefail
shopt -s globstar nullglob
cd "$(dirname "$0")/.."

kind="${1:-all}"
shift || true
files=()
case "$kind" in
  unit) files=(src/**/*.test.ts) ;;
  integration) files=(test/integration/**/*.test.ts) ;;
  soak)
    files=(test/soak/**/*.test.ts)
    : "${TEST_TIMEOUT_MS:=540000}" "${TEST_RUN_TIMEOUT_S:=600}"
    ;;
  all) files=(src/**/*.test.ts test/integration/**/*.test.ts) ;;
  *) files=("$kind" "$@") ;;
esac
if [ "${#files[@]}" -eq 0 ]; then
  echo "run-tests: no test files found for '$kind'" >&2
  exit 1
fi

root="$(mktemp -d "${TMPDIR:-/tmp}/pgtunnel-run.XXXXXX")"
chmod 755 "$root" # the PostgreSQL server runs as another user and needs to reach its files
mkdir -m 1777 "$root/tmp"
echo "run-tests: temp root $root" >&2
# The mark every child carries (test/helpers/children.ts), by which leftovers are found.
# Each test file's TMPDIR is a directory in "$root/tmp" (test/helpers/file-guard.ts).
export PGTUNNEL_TEST_RUN="$root"

runner=''
interrupted=''
finish() {
  local status=$1
  trap - INT TERM HUP
  if [ -n "$runner" ]; then
    # Files cut off here get SIGTERM, on which they stop their children (test/helpers/file-guard.ts).
    kill -TERM -- "-$runner" 2>/dev/null || true
    for _ in $(seq 1 200); do
      kill -0 -- "-$runner" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$runner" 2>/dev/null || true
  fi
  if ! node scripts/test-leftovers.mjs "$root" --kill; then
    echo "run-tests: FAIL: the tests left the processes above behind (now killed)" >&2
    status=1
  fi
  local dirs
  dirs="$(find "$root/tmp" -mindepth 1 -maxdepth 1 2>/dev/null || true)"
  if [ -n "$dirs" ]; then
    echo "run-tests: FAIL: the tests left these temp files behind (now removed):" >&2
    echo "$dirs" | sed 's/^/  /' >&2
    status=1
  fi
  rm -rf "$root"
  if [ -e "$root" ]; then
    echo "run-tests: FAIL: could not remove $root" >&2
    status=1
  fi
  exit "$status"
}
on_signal() {
  interrupted="$1"
  echo "run-tests: interrupted by SIG$1; stopping the tests" >&2
  [ -z "$runner" ] || kill -TERM -- "-$runner" 2>/dev/null || true
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP

# When the caller has just built (scripts/test.sh, or the outer run of the runner's own cut-off
# test), PGTUNNEL_TEST_CLI names that build; it is used only if no source or build setting is
# newer than it, else the run builds again.
built="${PGTUNNEL_TEST_CLI:-}"
if [ -z "$built" ] || [ ! -f "$built" ] ||
  [ -n "$(find src package.json package-lock.json tsconfig.json tsconfig.build.json \
    -newer "$built" \( -name '*.ts' ! -name '*.test.ts' -o -name '*.json' \) -print -quit)" ]; then
  if ! npm run --silent build; then
    echo "run-tests: npm run build failed" >&2
    finish 1
  fi
  export PGTUNNEL_TEST_CLI="$PWD/dist/cli/main.js"
fi
[ -z "$interrupted" ] || finish 130

# A hung test fails after TEST_TIMEOUT_MS (for a whole file, too: the file is then sent SIGTERM).
# No --test-force-exit: with concurrency it drops the tail of a file's results before the parent
# reads them (nodejs/node#64833), so counts shrink silently. A file that never exits is caught by
# the overall time limit. setsid: the run is one process group, stopped as a whole at the end.
setsid timeout --kill-after=15 "${TEST_RUN_TIMEOUT_S:-1200}" \
  node --import tsx --import ./test/helpers/file-guard.ts --test \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=./scripts/file-durations-reporter.mjs --test-reporter-destination=stderr \
  --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout="${TEST_TIMEOUT_MS:-180000}" \
  "${files[@]}" &
runner=$!
status=0
wait "$runner" || status=$?
# A trapped signal interrupts `wait`; wait again for the runner to wind down.
while kill -0 "$runner" 2>/dev/null; do
  status=0
  wait "$runner" || status=$?
done
if [ -n "$interrupted" ]; then
  [ "$interrupted" = INT ] && status=130 || status=143
fi
[ "$status" -ne 124 ] || echo "run-tests: FAIL: the overall time limit (${TEST_RUN_TIMEOUT_S:-1200} s) was reached" >&2
finish "$status"
}
