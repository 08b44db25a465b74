#!/usr/bin/env bash
# The one test command: installs what the tests need (Debian packages: Dovecot, Postfix, tmux, python3-venv;
# a virtualenv with mailscope and its test extras), starts the real Dovecot lab and the Postfix submission lab
# (its own config dir and ports; the system's mail setup is never touched), runs ruff and the whole pytest
# suite, and stops both again. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "tests/run.sh: please install: ${missing[*]} (needs root)" >&2
    return 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

apt_install tmux python3-venv openssl curl
dpkg -s dovecot-imapd >/dev/null 2>&1 || bash tests/dovecot-lab/lab.sh install
dpkg -s postfix >/dev/null 2>&1 || bash tests/dovecot-lab/postfix.sh install

[ -x .venv/bin/python ] || python3 -m venv .venv
# compat mode: a plain path entry, not an import-hook finder that costs ~16 ms at every start
.venv/bin/python -m pip install -q --disable-pip-version-check --config-settings editable_mode=compat -e '.[test]'

# Tests run the real console script (`mailscope ...`) as a user would: put the venv's bin first.
export PATH="$PWD/.venv/bin:$PATH"
# The gate is what CI runs: hypothesis derandomized (tests/conftest.py), whether or not the runner sets CI.
export CI="${CI:-1}"

bash tests/dovecot-lab/lab.sh restart  # restart: a stale instance from an earlier run must not fail the run
bash tests/dovecot-lab/postfix.sh restart
trap 'bash tests/dovecot-lab/postfix.sh stop >/dev/null 2>&1 || true; bash tests/dovecot-lab/lab.sh stop >/dev/null 2>&1 || true' EXIT

.venv/bin/ruff check .
.venv/bin/python -m pytest -q "$@"
