# Shared set-up for scripts/start.sh and scripts/test.sh (sourced, not run).
# Installs the Debian packages named in $APT_PACKAGES when missing, then creates or refreshes
# the virtual environment .venv with the project and the extras named in $EXTRAS.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

missing=()
for p in ${APT_PACKAGES:-}; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.mibgscore-installed
want="$(sha1sum pyproject.toml | cut -c1-40) ${EXTRAS:-}"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  target="."
  [ -n "${EXTRAS:-}" ] && target=".[${EXTRAS}]"
  .venv/bin/python -m pip install -q -e "$target"
  echo "$want" > "$stamp"
else
  .venv/bin/python -m pip install -q --no-deps -e . >/dev/null
fi
