#!/usr/bin/env bash
# Set up (Debian packages, .venv with the test extras) and run the whole test suite.
APT_PACKAGES="python3-venv libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core dicom3tools dcmtk chromium postgresql poppler-utils orthanc orthanc-dicomweb"
EXTRAS="test"
source "$(dirname "$0")/_setup.sh"
.venv/bin/ruff check src tests $(ls -d benchmarks 2>/dev/null)
.venv/bin/python -m pytest "$@"
