#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make intree-check: lay the project into a scratch copy of the 6.12 tree
# (lay.sh), configure it with our drivers =m in place of the C ones, build the
# kernel and its modules, and run the soft-RoCE selftests of ib_ipoib and the
# mlx4_ib load test on the result, with the modules the tree built.
#
# Not part of make check: it is a kernel build (about 10 minutes on 2 cores the
# first time; kbuild rebuilds only what changed after that). The scratch tree
# is a hard-linked copy of the cached source (lay.sh replaces every file it
# changes), under $IPOIB_RS_CACHE/intree.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
vm=$repo/tools/testing/vm
cache=${IPOIB_RS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ipoib-rs}
jobs=${JOBS:-3}
log() { echo "intree-check: $*" >&2; }

start=$(date +%s)
# The unpacked source is the debug kernel's (built first by make kernel).
debug=$("$vm/kernel.sh" path debug)
src=$(readlink -f "$debug/source")
[ -f "$src/.ipoib-rs-unpacked" ] || { log "no unpacked source at '$src'"; exit 1; }

tree=$cache/intree/linux
build=$cache/intree/build
mkdir -p "$cache/intree"
exec 9>"$cache/.lock"
flock 9

log "hard-linked copy of $src"
rm -rf "$tree"
cp -al "$src" "$tree"
"$here/lay.sh" "$tree"

log "configuring in $build"
mkdir -p "$build"
rm -f "$build/.ipoib-rs-done"
make -s -C "$tree" O="$build" x86_64_defconfig
"$tree/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" \
	"$vm/config/base.config" "$here/intree.config" >/dev/null
make -s -C "$tree" O="$build" olddefconfig
for want in CONFIG_INFINIBAND_IPOIB_RUST=m CONFIG_MLX4_INFINIBAND_RUST=m \
	'# CONFIG_INFINIBAND_IPOIB is not set' '# CONFIG_MLX4_INFINIBAND is not set' CONFIG_RUST=y; do
	grep -qx "$want" "$build/.config" || { log "config: '$want' did not apply"; exit 1; }
done

log "building the kernel with -j$jobs"
make -s -C "$tree" O="$build" -j"$jobs" bzImage modules
rm -rf "$build/staging"
make -s -C "$tree" O="$build" INSTALL_MOD_PATH="$build/staging" INSTALL_MOD_STRIP=1 \
	modules_install
kver=$(cat "$build/include/config/kernel.release")
for ko in kernel/drivers/infiniband/ulp/ipoib_rs/ib_ipoib.ko \
	kernel/drivers/infiniband/hw/mlx4_rs/mlx4_ib.ko; do
	[ -f "$build/staging/lib/modules/$kver/$ko" ] || { log "$ko was not built"; exit 1; }
	log "built $ko"
done
touch "$build/.ipoib-rs-done"
built=$(date +%s)
log "tree built in $((built - start)) s"

log "selftests on the in-tree build"
out=${INTREE_OUT:-/tmp/ipoib-rs-intree}
tests=(ipoib/load_unload.sh ipoib/datagram.sh ipoib/connected.sh mlx4_ib/load_unload.sh)
export SELFTEST_INTREE=1
run_rc=0
IPOIB_RS_KBUILD=$build "$vm/run.sh" -n 2 -q -t 1800 -o "$out" -- \
	tools/testing/selftests/guest-runner.sh "${tests[@]}" || run_rc=$?
# A test passes when it passed in both VMs (4: skipped in one); a test with no result
# in either VM failed, and so does a VM run that failed outside the tests (deadline,
# crash, splat).
pass=0 fail=0
for t in "${tests[@]}"; do
	id=$(echo "$t" | sed 's/\.sh$//; s,/,:,g')
	a=$(awk -v id="$id" '$1 == id {print $2}' "$out/xch/a.results" 2>/dev/null)
	b=$(awk -v id="$id" '$1 == id {print $2}' "$out/xch/b.results" 2>/dev/null)
	if { [ "$a" = 0 ] || [ "$a" = 4 ]; } && { [ "$b" = 0 ] || [ "$b" = 4 ]; } &&
		[ "$a$b" != 44 ]; then
		pass=$((pass + 1))
		echo "ok $id"
	else
		fail=$((fail + 1))
		echo "FAIL $id (vm a: ${a:-no result}, vm b: ${b:-no result}; logs: $out/xch/)"
	fi
done
if [ "$run_rc" != 0 ]; then
	fail=$((fail + 1))
	echo "FAIL the VM run itself (exit $run_rc: deadline, crash or splat outside a test)"
fi
log "selftests done in $(($(date +%s) - built)) s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
