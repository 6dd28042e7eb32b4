#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what building the test kernel and running the VM tests needs on a
# Debian 12 host. Idempotent: a second run only checks.
set -euo pipefail

BINDGEN_VERSION=0.73.2

PKGS=(linux-source-6.12 qemu-system-x86 libclang-dev clang flex bison bc libelf-dev
      libssl-dev cpio xz-utils busybox-static rdma-core ibverbs-utils ibverbs-providers
      perftest iperf3 iproute2 iputils-ping ethtool kmod python3-pyverbs
      infiniband-diags opensm rsync dkms dh-dkms debhelper dpkg-dev binutils)

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "host-deps: installing ${missing[*]}"
	# linux-source-6.12 comes from bookworm-security: refresh the lists first.
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
		"${missing[@]}"
fi

if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
	rustup component add rust-src
fi
if ! bindgen --version 2>/dev/null | grep -q " ${BINDGEN_VERSION}\$"; then
	cargo install --locked --version "${BINDGEN_VERSION}" bindgen-cli
fi
