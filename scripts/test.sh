#!/usr/bin/env bash
# The one test command (`npm test`): installs what the tests need when it is missing (Debian
# packages when run as root, node modules), then type-checks, lints and runs every test against
# real PostgreSQL, OpenSSH and stunnel: the main suite, then the memory soak as its own step with
# its own time limit (scripts/run-tests.sh soak).
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1; }
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_pkgs+=(postgresql postgresql-contrib)
have psql || need_pkgs+=(postgresql-client)
[ -x /usr/sbin/sshd ] || need_pkgs+=(openssh-server)
have ssh || need_pkgs+=(openssh-client)
have stunnel4 || need_pkgs+=(stunnel4)
have openssl || need_pkgs+=(openssl)
[ -x /usr/sbin/haproxy ] || need_pkgs+=(haproxy)
have setpriv || need_pkgs+=(util-linux)
have ip || need_pkgs+=(iproute2)
have chromium || need_pkgs+=(chromium)
[ -x /usr/sbin/pgbouncer ] || need_pkgs+=(pgbouncer)
have sslscan || need_pkgs+=(sslscan)
have strace || need_pkgs+=(strace)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  echo "test: installing Debian packages: ${need_pkgs[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

npm run --silent typecheck
npm run --silent lint
# Build once for both steps (each run would otherwise build again at its start).
rm -rf dist
npm run --silent build
export PGTUNNEL_TEST_CLI="$PWD/dist/cli/main.js"
bash scripts/run-tests.sh all
echo "test: memory soak (npm run soak)"
bash scripts/run-tests.sh soak
