#!/usr/bin/env bash
# Sets up the environment if needed and runs the whole test suite on the real data (../shared/data).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. .venv/bin/activate
python -m pytest -q "$@"
