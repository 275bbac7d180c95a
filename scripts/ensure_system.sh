#!/usr/bin/env bash
# System packages the test suite needs, from Debian's apt (nothing downloaded outside the package
# registries): Chromium and its driver for the browser tests (they drive /usr/bin/chromium), and a
# Java 17 runtime for the Spark engine's tests (PyPI's pyspark runs on it). Installs what is missing.
#
# A busy package manager (another install, unattended-upgrades) holds apt's locks: we wait for them
# (DPkg::Lock::Timeout covers the dpkg frontend lock and, since apt 2.x, the lists lock too) instead
# of failing with "Could not get lock", and retry `apt-get update` a few times, since a mirror or a
# lock can be briefly unavailable.
set -euo pipefail
need=()
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then need+=(chromium chromium-driver); fi
if ! command -v java >/dev/null 2>&1 || ! java -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])'; then
  need+=(openjdk-17-jre-headless)
fi
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
LOCK_WAIT="${APT_LOCK_WAIT_S:-900}"
APT=($SUDO apt-get -o "DPkg::Lock::Timeout=${LOCK_WAIT}" -q)
for attempt in 1 2 3 4 5; do
  if "${APT[@]}" update >/dev/null; then break; fi
  if [ "$attempt" = 5 ]; then echo "apt-get update failed 5 times" >&2; exit 1; fi
  echo "apt-get update failed (attempt $attempt); retrying in $((attempt * 10)) s" >&2
  sleep $((attempt * 10))
done
for attempt in 1 2 3; do
  if DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y "${need[@]}" >/dev/null; then exit 0; fi
  if [ "$attempt" = 3 ]; then echo "apt-get install ${need[*]} failed 3 times" >&2; exit 1; fi
  echo "apt-get install failed (attempt $attempt); retrying in $((attempt * 15)) s" >&2
  sleep $((attempt * 15))
done
