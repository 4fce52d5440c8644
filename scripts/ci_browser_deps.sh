#!/usr/bin/env bash
# Browser test dependencies for CI (idempotent; called from .ci/run before the tests).
#   - Debian's chromium (+ chromium-driver) when /usr/bin/chromium is missing
#   - the `playwright` Python package into the active venv (or $VENV / .venv)
# Playwright's own browser download (`playwright install`) is never used: the tests launch
# /usr/bin/chromium via executable_path.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver
fi

if [ -n "${VIRTUAL_ENV:-}" ]; then
  PY="$VIRTUAL_ENV/bin/python"
elif [ -x "${VENV:-.venv}/bin/python" ]; then
  PY="${VENV:-.venv}/bin/python"
else
  PY="$(command -v python3)"
fi
if ! "$PY" -c "import playwright" >/dev/null 2>&1; then
  "$PY" -m pip install --quiet playwright
fi
echo "browser deps: $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium missing'); $("$PY" -m pip show playwright 2>/dev/null | grep -i '^version' || echo 'playwright missing')"
