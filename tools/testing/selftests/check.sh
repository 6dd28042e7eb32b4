#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: every test layer, fastest first, then one summary line.
#   1. host unit tests of the pure modules (cargo test)
#   2. rustfmt --check
#   3. both modules built with CLIPPY=1 against the cached kernel, no warning
#   4. objects built for another kernel are rebuilt (.kdir-stamp)
#   5. VM selftests on the debug kernel (two VMs, soft-RoCE)
# Assumes `make deps kernel` ran (the Makefile's check target does that).
set -uo pipefail

repo=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$repo"
pass=0 fail=0 skipped=0
t0=$(date +%s)

step() { echo; echo "==== $* ($(($(date +%s) - t0))s)"; }
ours=0 harness=0
count() { # count NAME STATUS: a check of our code (rustfmt, clippy)
	if [ "$2" = 0 ]; then
		echo "ok $1"
		pass=$((pass + 1)) ours=$((ours + 1))
	else
		echo "not ok $1"
		fail=$((fail + 1))
	fi
}

# Outside the tree: a kbuild `make clean` deletes every *.o below it.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${IPOIB_RS_CACHE:-$HOME/.cache/ipoib-rs}/unit-target}

step "host unit tests"
cargo test --manifest-path tools/testing/unit/Cargo.toml 2>&1 | tee /tmp/ipoib-rs-unit.log
unit_rc=${PIPESTATUS[0]}
p=$(sed -n 's/^test result: .* \([0-9]*\) passed; \([0-9]*\) failed.*/\1/p' /tmp/ipoib-rs-unit.log | awk '{s+=$1} END {print s+0}')
f=$(sed -n 's/^test result: .* \([0-9]*\) passed; \([0-9]*\) failed.*/\2/p' /tmp/ipoib-rs-unit.log | awk '{s+=$1} END {print s+0}')
pass=$((pass + p))
fail=$((fail + f))
# The software ConnectX-3's own unit tests test the harness, not the drivers.
harness=$(grep -c '^test mlx4_model_.* \.\.\. ok$' /tmp/ipoib-rs-unit.log)
ours=$((p - harness))
[ "$unit_rc" = 0 ] || [ "$f" != 0 ] || fail=$((fail + 1))

step "rustfmt"
make -s fmtcheck
count rustfmt $?

step "clippy build"
make -s clippy
clippy_rc=$?
count clippy $clippy_rc

step "build follows its kernel"
# Objects built for another kernel (forged stamp) are cleaned and rebuilt; a second build
# rebuilds nothing.
build_follows_kernel() {
	echo "6.0.0 0000000000000000 /nonexistent" >.kdir-stamp
	make -s modules >/tmp/ipoib-rs-kdir.log 2>&1 || { cat /tmp/ipoib-rs-kdir.log; return 1; }
	grep -q "modules were built for another kernel: cleaning" /tmp/ipoib-rs-kdir.log || {
		echo "no clean for another kernel"
		return 1
	}
	want=$(cat "$(tools/testing/vm/kernel.sh path debug)/include/config/kernel.release")
	got=$(modinfo -F vermagic ib_ipoib.ko | cut -d' ' -f1)
	[ "$got" = "$want" ] || { echo "ib_ipoib.ko is for $got, not $want"; return 1; }
	before=$(stat -c %Y ib_ipoib.ko)
	make -s modules >/tmp/ipoib-rs-kdir.log 2>&1 || return 1
	! grep -q "another kernel" /tmp/ipoib-rs-kdir.log || { echo "cleaned again"; return 1; }
	[ "$(stat -c %Y ib_ipoib.ko)" = "$before" ] || { echo "rebuilt for the same kernel"; return 1; }
}
build_follows_kernel
count "build follows its kernel" $?

step "VM selftests"
if [ "$clippy_rc" = 0 ]; then
	tools/testing/selftests/run.sh | tee /tmp/ipoib-rs-selftests.tap
	line=$(grep '^selftests: ' /tmp/ipoib-rs-selftests.tap | tail -n 1)
	p=$(echo "$line" | sed -n 's/.* \([0-9]*\) passed.*/\1/p')
	f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
	s=$(echo "$line" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
	o=$(echo "$line" | sed -n 's/.*(ours: \([0-9]*\),.*/\1/p')
	r=$(echo "$line" | sed -n 's/.*harness: \([0-9]*\)).*/\1/p')
	if [ -z "$p" ] || [ -z "$o" ] || [ -z "$r" ]; then fail=$((fail + 1)); else
		pass=$((pass + p)) fail=$((fail + f)) skipped=$((skipped + s))
		ours=$((ours + o)) harness=$((harness + r))
	fi
else
	echo "not ok selftests # modules did not build"
	fail=$((fail + 1))
fi

echo
echo "make check: $(($(date +%s) - t0))s"
echo "$pass passed (ours: $ours, C reference and harness: $harness)"
echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" = 0 ]
