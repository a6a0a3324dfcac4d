# Shared set-up for scripts/start.sh and scripts/test.sh (sourced, not run).
# Installs the Debian packages named in $APT_PACKAGES when missing, then creates or refreshes
# the virtual environment .venv with the project and the extras named in $EXTRAS.
# Another apt process (unattended upgrades on a fresh machine) may hold the dpkg lock: the
# set-up waits for it (MIBGSCORE_DPKG_LOCK_TIMEOUT seconds, 600 by default) instead of failing.
set -euo pipefail

DPKG_LOCK=${MIBGSCORE_DPKG_LOCK:-/var/lib/dpkg/lock-frontend}
DPKG_LOCK_TIMEOUT=${MIBGSCORE_DPKG_LOCK_TIMEOUT:-600}

# lock_held PATH: whether a process holds PATH open (as dpkg and apt hold their lock).
lock_held() {
  local lock=$1 fd
  if command -v fuser >/dev/null 2>&1; then
    fuser "$lock" >/dev/null 2>&1
    return
  fi
  for fd in /proc/[0-9]*/fd/*; do
    [ "$(readlink "$fd" 2>/dev/null)" = "$lock" ] && return 0
  done
  return 1
}

# wait_for_dpkg_lock [PATH [TIMEOUT_S [POLL_S]]]: return once no process holds the lock;
# 1 (with one sentence on stderr) when it is still held after TIMEOUT_S seconds.
wait_for_dpkg_lock() {
  local lock=${1:-$DPKG_LOCK} timeout=${2:-$DPKG_LOCK_TIMEOUT} poll=${3:-2} start=$SECONDS
  [ -e "$lock" ] || return 0
  if lock_held "$lock"; then
    echo "Waiting for another apt process to release $lock (up to ${timeout} s)..." >&2
  fi
  while lock_held "$lock"; do
    if [ $((SECONDS - start)) -ge "$timeout" ]; then
      echo "error: $lock is still held after ${timeout} s (another apt or dpkg process);" \
           "wait for it to finish, then run this script again." >&2
      return 1
    fi
    sleep "$poll"
  done
  return 0
}

[ "${MIBGSCORE_SETUP_DEFINE_ONLY:-0}" = 1 ] && return 0  # the functions only (tests)

cd "$(dirname "${BASH_SOURCE[0]}")/.."

missing=()
for p in ${APT_PACKAGES:-}; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  wait_for_dpkg_lock
  apt=(apt-get -o "DPkg::Lock::Timeout=$DPKG_LOCK_TIMEOUT")  # and apt itself waits too
  $SUDO "${apt[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
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
