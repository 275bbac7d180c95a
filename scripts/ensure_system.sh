#!/usr/bin/env bash
# System packages the test suite needs, from Debian's apt (nothing downloaded outside the package
# registries): Chromium and its driver for the browser tests (they drive /usr/bin/chromium), and a
# Java 17 runtime for the Spark engine's tests (PyPI's pyspark runs on it). Installs what is missing.
set -euo pipefail
need=()
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then need+=(chromium chromium-driver); fi
if ! command -v java >/dev/null 2>&1 || ! java -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])'; then
  need+=(openjdk-17-jre-headless)
fi
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}" >/dev/null
