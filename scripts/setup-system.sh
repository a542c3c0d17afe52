#!/usr/bin/env bash
# Installs the system packages quic needs: ngtcp2 >= 1.11 and nghttp3 >= 1.8
# with GnuTLS crypto glue, a C toolchain, and the independent QUIC peers used
# by the tests, and clang with its compiler-rt (libFuzzer, ASan, UBSan) for
# fuzz/. On Debian 12 these come from bookworm-backports, which this
# script enables by reusing the mirror already configured for bookworm (no
# host name is written here). Newer Debian releases carry them directly.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-system.sh must run as root (it installs Debian packages)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")

pkgs=(build-essential python3 pkg-config
      libngtcp2-dev libngtcp2-crypto-gnutls-dev libnghttp3-dev libgnutls28-dev
      ngtcp2-server ngtcp2-client libuv1-dev chromium
      clang libclang-rt-dev iproute2)
pkgs+=("$@")

apt_target=()
if [ "$codename" = bookworm ]; then
  list=/etc/apt/sources.list.d/quic-backports.sources
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    mirror=""
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
      # First URI of the stanza that carries the main bookworm suite.
      mirror=$(awk '
        /^URIs:/   { uri = $2 }
        /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") { print uri; exit } }
        /^$/       { uri = "" }' /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
      mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)
    fi
    if [ -z "$mirror" ]; then
      echo "setup-system.sh: no configured bookworm mirror found to reuse" >&2
      exit 1
    fi
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    {
      echo "Types: deb"
      echo "URIs: $mirror"
      echo "Suites: bookworm-backports"
      echo "Components: main"
      [ -f "$keyring" ] && echo "Signed-By: $keyring"
    } > "$list"
  fi
  apt_target=(-t bookworm-backports)
fi

# Skip the network entirely when everything is already installed.
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${apt_target[@]}" "${missing[@]}"
fi

# Fail loudly if the versions are too old for the 1.x APIs we use.
pkg-config --atleast-version=1.11 libngtcp2 || { echo "ngtcp2 >= 1.11 required" >&2; exit 1; }
pkg-config --atleast-version=1.8 libnghttp3 || { echo "nghttp3 >= 1.8 required" >&2; exit 1; }
