#!/usr/bin/env bash
# Installs everything the tests need on a fresh machine, then runs the whole suite.
# Usage: bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -r requirements-test.txt
# Browser tests drive Debian's chromium through playwright (never `playwright install`).
if ! command -v chromium >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "warning: could not install chromium; browser tests will fail"
    fi
fi
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 PYTHONHASHSEED=0
exec python -m pytest "$@"
