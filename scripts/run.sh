#!/usr/bin/env bash
# Sets up the environment, prepares the data bundle if missing, and starts the app.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. .venv/bin/activate
python -m cpts_geo prepare --if-needed --out "${CPTS_GEO_DATA:-data}"   # prepared again after an upgrade
exec python -m cpts_geo.web.server "$@"   # streamlit run app.py, data loaded before the first visitor
