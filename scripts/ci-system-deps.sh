#!/usr/bin/env bash
# System packages the test suite needs beyond Python: headless Chromium for the report's browser
# test (tests/integration/test_report_browser.py), with fonts for stable rendering. Idempotent:
# does nothing when /usr/bin/chromium exists.
set -euo pipefail

if [ ! -x /usr/bin/chromium ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        chromium fonts-liberation fonts-dejavu-core
fi
