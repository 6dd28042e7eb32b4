#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make dkms-deb: package the drivers' sources as ipoib-rs-dkms_VERSION_all.deb
# (debhelper with dh_dkms, as Debian packages DKMS modules).
#
#   mkdeb.sh OUTDIR
#
# The package holds what git tracks of the drivers (Kbuild, Kconfig, Makefile,
# dkms.conf, ipoib/, mlx4_ib/ without its test-only pair build, rust-bindings/,
# tools/packaging/dkms-check.sh) under /usr/src/ipoib-rs-VERSION. VERSION is
# dkms.conf's PACKAGE_VERSION. Needs dpkg-dev, debhelper and dh-dkms.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$(realpath -m "${1:?usage: mkdeb.sh OUTDIR}")
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$repo/dkms.conf")
[ -n "$version" ] || { echo "mkdeb.sh: no PACKAGE_VERSION in dkms.conf" >&2; exit 1; }
for tool in dpkg-buildpackage dh dh_dkms; do
	command -v "$tool" >/dev/null || {
		echo "mkdeb.sh: $tool missing (apt-get install dpkg-dev debhelper dh-dkms)" >&2
		exit 1
	}
done

stage=$(mktemp -d "${TMPDIR:-/tmp}/ipoib-rs-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
top=$stage/ipoib-rs-$version
mkdir -p "$top/src"
# A read-only listing: safe whoever owns the checkout (the test VMs run as root).
(cd "$repo" && git -c safe.directory="$repo" ls-files -- Kbuild Kconfig Makefile dkms.conf README.md ipoib mlx4_ib \
	rust-bindings tools/packaging/dkms-check.sh) | grep -v '^mlx4_ib/mlx4_ib_pair' |
	while IFS= read -r f; do
		mkdir -p "$top/src/$(dirname "$f")"
		cp -p "$repo/$f" "$top/src/$f"
	done
[ -f "$top/src/dkms.conf" ] && [ -f "$top/src/ipoib/ipoib_main.rs" ] ||
	{ echo "mkdeb.sh: the sources are not tracked by git here" >&2; exit 1; }

cp -r "$here/debian" "$top/debian"
echo "VERSION := $version" >"$top/debian/version.mk"
sed -i "s/@VERSION@/$version/g" "$top/debian/postinst" "$top/debian/kernel-hook"
chmod +x "$top/debian/rules" "$top/debian/postinst"
cat >"$top/debian/changelog" <<EOT
ipoib-rs ($version) unstable; urgency=medium

  * Built from $(cd "$repo" && git -c safe.directory="$repo" describe --always --dirty 2>/dev/null ||
	echo "a source tree").

 -- ipoib-rs developers <ipoib-rs@localhost>  $(date -R)
EOT

(cd "$top" && dpkg-buildpackage -b -us -uc -d >"$stage/build.log" 2>&1) || {
	cat "$stage/build.log" >&2
	exit 1
}
mkdir -p "$out"
cp "$stage/ipoib-rs-dkms_${version}_all.deb" "$out/"
echo "$out/ipoib-rs-dkms_${version}_all.deb"
