#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# dkms-check.sh KDIR: can ib_ipoib and mlx4_ib (Rust) be built for the kernel
# whose build directory (headers) is KDIR? Silent and 0 if so; else one line
# saying why on stdout, and 1. Used by dkms.conf (a kernel that cannot take
# them is skipped, not half-built) and by the package's postinst.
kdir=${1:?usage: dkms-check.sh KDIR}
PATH="$PATH:${HOME:-/root}/.cargo/bin"
cfg=$kdir/.config

no() { echo "$*"; exit 1; }
[ -f "$cfg" ] || no "no kernel configuration at $cfg (are the kernel's headers installed?)"
release=$(cat "$kdir/include/config/kernel.release" 2>/dev/null)
case "$release" in
6.12.*) ;;
*) no "the kernel is ${release:-of an unknown release}: the drivers are written for 6.12" ;;
esac
for opt in CONFIG_RUST CONFIG_INFINIBAND CONFIG_MLX4_CORE; do
	grep -Eq "^$opt=[ym]" "$cfg" || no "the kernel was built without $opt"
done
want=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\(.*\)"$/\1/p' "$cfg")
have=$(rustc --version 2>/dev/null)
[ -n "$have" ] || no "no rustc on PATH (the kernel was built with $want)"
[ "$have" = "$want" ] || no "the kernel was built with $want, but rustc here is $have"
want=$(sed -n 's/^CONFIG_BINDGEN_VERSION_TEXT="\(.*\)"$/\1/p' "$cfg")
have=$(bindgen --version 2>/dev/null)
[ -n "$have" ] || no "no bindgen on PATH (the kernel was built with $want)"
# bindgen loads libclang at run time.
tmp=$(mktemp -d) || exit 1
echo 'int ipoib_rs_probe;' >"$tmp/probe.h"
bindgen "$tmp/probe.h" >/dev/null 2>"$tmp/err" || {
	why=$(head -n 1 "$tmp/err")
	rm -rf "$tmp"
	no "bindgen does not run (is libclang installed?): $why"
}
rm -rf "$tmp"
[ -f "$kdir/rust/bindgen_parameters" ] || [ -f "$kdir/source/rust/bindgen_parameters" ] ||
	no "the kernel's headers lack rust/bindgen_parameters"
[ -d "$kdir/rust" ] && ls "$kdir"/rust/libkernel.rmeta >/dev/null 2>&1 ||
	no "the kernel's headers lack its Rust metadata ($kdir/rust/libkernel.rmeta)"
exit 0
