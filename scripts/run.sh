#!/usr/bin/env bash
# Sets up the environment, prepares the data bundle if missing, and starts the app.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. .venv/bin/activate
if [ ! -f "${CPTS_GEO_DATA:-data}/bundle.json" ]; then
  python -m cpts_geo prepare
fi
exec streamlit run app.py "$@"
