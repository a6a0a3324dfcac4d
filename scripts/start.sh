#!/usr/bin/env bash
# Set up (Debian packages, .venv) and start the web interface with the bundled demo studies.
APT_PACKAGES="python3-venv libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core"
EXTRAS=""
source "$(dirname "$0")/_setup.sh"
exec .venv/bin/mibgscore serve --demo --data-dir "${MIBGSCORE_DATA_DIR:-./mibgscore-data}" "$@"
