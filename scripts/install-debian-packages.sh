#!/usr/bin/env bash
# Install Debian packages if they are missing, when we are root and apt-get exists;
# otherwise say what to do (the tests that need them then report why they cannot run).
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/gangrid-apt.log 2>&1; then
    apt-get update -qq >>/tmp/gangrid-apt.log 2>&1
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >>/tmp/gangrid-apt.log 2>&1 \
      || { echo "apt-get install failed, see /tmp/gangrid-apt.log"; exit 1; }
  fi
else
  echo "note: Debian packages not installed (need root and apt-get): ${missing[*]}"
  echo "      install them with: sudo apt-get install ${missing[*]}"
fi
