#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (once) and locate the test kernel.
#
#   kernel.sh build FLAVOUR   build the kernel if the cache has none, print its build dir
#   kernel.sh path FLAVOUR    print the build dir of a finished build (exit 1 if none)
#   kernel.sh key FLAVOUR     print the cache key
#
# FLAVOUR is `debug` (lockdep, KFENCE, kmemleak...: used by `make check`) or
# `bench` (no debug options: used by `make bench`). Both are O= builds of one
# unpacked source tree. The cache lives outside the repository in
# $IPOIB_RS_CACHE (default ~/.cache/ipoib-rs) and is keyed on the
# linux-source package version, the config fragments and the Rust toolchain,
# so a second run rebuilds nothing.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${IPOIB_RS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ipoib-rs}
jobs=${JOBS:-3}

cmd=${1:?usage: kernel.sh build|path|key debug|bench}
flavour=${2:-debug}

case "$flavour" in
debug) fragments=("$here/config/base.config" "$here/config/debug.config") ;;
bench) fragments=("$here/config/base.config") ;;
*) echo "kernel.sh: unknown flavour '$flavour'" >&2; exit 2 ;;
esac

pkgver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
if [ -z "$pkgver" ]; then
	echo "kernel.sh: linux-source-6.12 is not installed (run tools/testing/vm/host-deps.sh)" >&2
	exit 1
fi

key() {
	{
		echo "linux-source-6.12 $pkgver"
		cat "${fragments[@]}"
		rustc -V
		bindgen --version
		gcc --version | head -1
	} | sha256sum | cut -c1-16
}

srcdir="$cache/src/linux-$pkgver"
builddir="$cache/build-$flavour-$(key)"

case "$cmd" in
key) key; exit 0 ;;
path)
	[ -f "$builddir/.ipoib-rs-done" ] || {
		echo "kernel.sh: no $flavour kernel built yet (make kernel)" >&2
		exit 1
	}
	echo "$builddir"
	exit 0
	;;
build) ;;
*) echo "kernel.sh: unknown command '$cmd'" >&2; exit 2 ;;
esac

if [ -f "$builddir/.ipoib-rs-done" ]; then
	echo "$builddir"
	exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

log() { echo "kernel.sh: $*" >&2; }

if [ ! -f "$srcdir/.ipoib-rs-unpacked" ]; then
	log "unpacking linux-source $pkgver into $srcdir"
	rm -rf "$srcdir" "$srcdir.tmp"
	mkdir -p "$srcdir.tmp"
	tar -C "$srcdir.tmp" --strip-components=1 -xaf /usr/src/linux-source-6.12.tar.xz
	touch "$srcdir.tmp/.ipoib-rs-unpacked"
	mv "$srcdir.tmp" "$srcdir"
fi

log "configuring $flavour kernel in $builddir"
mkdir -p "$builddir"
make -s -C "$srcdir" O="$builddir" x86_64_defconfig >&2
"$srcdir/scripts/kconfig/merge_config.sh" -m -O "$builddir" "$builddir/.config" \
	"${fragments[@]}" >&2
make -s -C "$srcdir" O="$builddir" olddefconfig >&2

# merge_config.sh only warns when a symbol does not take its requested value
# (an unmet dependency): for the options the tests rely on, that is fatal.
missing=0
for frag in "${fragments[@]}"; do
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=n) want="# ${line%=n} is not set" ;;
		CONFIG_*) want=$line ;;
		*) continue ;;
		esac
		sym=${line%%=*}
		if [ "$want" = "# $sym is not set" ]; then
			grep -q "^$sym=" "$builddir/.config" || continue
		else
			grep -qx "$want" "$builddir/.config" && continue
		fi
		log "config: wanted '$line', got '$(grep -E "^$sym=|^# $sym is" "$builddir/.config" || echo unset)'"
		missing=1
	done <"$frag"
done
if [ "$missing" = 1 ]; then
	log "the config fragment did not apply (is the Rust toolchain available? make -C $srcdir O=$builddir rustavailable)"
	exit 1
fi

log "building $flavour kernel with -j$jobs (about 11 minutes on 2 cores)"
make -s -C "$srcdir" O="$builddir" -j"$jobs" bzImage modules >&2
rm -rf "$builddir/staging"
make -s -C "$srcdir" O="$builddir" INSTALL_MOD_PATH="$builddir/staging" \
	INSTALL_MOD_STRIP=1 modules_install >&2
touch "$builddir/.ipoib-rs-done"
log "done: $builddir"
echo "$builddir"
