#!/usr/bin/env bash
# Installs Chromium from the Debian packages if missing, for the browser tests (tests/test_drawmap_gestures.py,
# tests/test_login_browser.py), and prints its path on stdout (everything else goes to stderr). Idempotent.
# Must run as root when Chromium is missing.
#
#   ./scripts/ci_browser.sh && export CPTS_GEO_REQUIRE_BROWSER=1
set -euo pipefail

find_chromium() { command -v chromium || command -v chromium-browser; }

if ! find_chromium >/dev/null; then
  echo "ci_browser: apt-get install chromium" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends chromium >&2
fi
find_chromium
