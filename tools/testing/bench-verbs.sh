#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`, third part, in one VM on the bench kernel: user verbs on the
# software ConnectX-3 through libmlx4, the kernel's C mlx4_ib against ours in
# the same boot. Each round loads one mlx4_ib (opensm brings the ports up),
# measures, and unloads it; BENCH_ROUNDS rounds (default 3) alternate C and
# ours. Measured: ibv_reg_mr/ibv_dereg_mr of 4 KiB, 2 MiB, 256 MiB and 1 GiB
# (regmr_bench.py), ib_send_bw and ib_write_bw RC 64 KiB, ib_send_lat 2 B.
# Each figure is the median of the rounds with the spread; the ratios are
# Rust/C (above 1: ours takes longer for times, is faster for bandwidths).
. "$REPO/tools/testing/selftests/lib.sh"
. "$REPO/tools/testing/bench-lib.sh"

T=${BENCH_SECONDS:-8}
ROUNDS=${BENCH_ROUNDS:-3}
ip link set lo up

# load c|rs: the C mlx4_ib from the module tree, or ours; then opensm and both
# ports ACTIVE.
load() {
	if [ "$1" = c ]; then
		modprobe mlx4_ib && loaded_c mlx4_ib
	else
		modprobe mlx4_model && modprobe ib_uverbs && insmod "$REPO/mlx4_ib.ko" &&
			loaded_ours mlx4_ib
	fi || return 1
	modprobe ib_umad &&
		wait_for 20 test -e /sys/class/infiniband/mlx4_1/ports/1/state &&
		opensm -g $MODEL_SM_GUID -B -f /tmp/opensm.log >/dev/null 2>&1 &&
		wait_for 60 sh -c "grep -q ACTIVE /sys/class/infiniband/mlx4_0/ports/1/state &&
			grep -q ACTIVE /sys/class/infiniband/mlx4_1/ports/1/state"
}
unload() {
	pkill -x opensm
	wait_for 15 sh -c "! pgrep -x opensm" || pkill -9 -x opensm
	wait_for 30 rmmod ib_umad
	wait_for 30 rmmod mlx4_ib
}

# measure TAG: one round's figures, appended to /tmp/bv.TAG.*.
measure() {
	python3 "$REPO/tools/testing/regmr_bench.py" mlx4_0 >/tmp/regmr.out 2>/tmp/regmr.err ||
		{ echo "bench-verbs: regmr_bench.py on $1:"; tail -n 3 /tmp/regmr.err; }
	while read -r _ size reg dereg; do
		echo "$reg" >>/tmp/bv.$1.reg.$size
		echo "$dereg" >>/tmp/bv.$1.dereg.$size
	done </tmp/regmr.out
	v=$(pair ib_send_bw -c RC -s 65536 -D "$T" -F --report_gbits | mbit)
	[ -n "$v" ] && echo "$v" >>/tmp/bv.$1.send_bw
	v=$(pair ib_write_bw -c RC -s 65536 -D "$T" -F --report_gbits | mbit)
	[ -n "$v" ] && echo "$v" >>/tmp/bv.$1.write_bw
	v=$(pair ib_send_lat -s 2 -n 1000 -F | awk '$1 == 2 && NF >= 6 { print $5 }')
	[ -n "$v" ] && echo "$v" >>/tmp/bv.$1.send_lat
}

rm -f /tmp/bv.*
for _r in $(seq "$ROUNDS"); do
	for d in c rs; do
		if load $d; then
			measure $d
		else
			echo "bench-verbs: $d mlx4_ib did not come up"
		fi
		unload
	done
done

row() {
	printf 'bench: verbs %-24s C %-22s Rust %-22s ratio Rust/C %s\n' "$1" \
		"$(median /tmp/bv.c.$2) $3" "$(median /tmp/bv.rs.$2) $3" \
		"$(ratio "$(med /tmp/bv.rs.$2)" "$(med /tmp/bv.c.$2)")"
}
echo
echo "bench: user verbs on the software ConnectX-3, C mlx4_ib and ours, median of $ROUNDS alternating rounds (min-max)"
for s in 4096:4KiB 2097152:2MiB 268435456:256MiB 1073741824:1GiB; do
	row "ibv_reg_mr ${s#*:}" reg.${s%%:*} us
	row "ibv_dereg_mr ${s#*:}" dereg.${s%%:*} us
done
row "ib_send_bw RC 64 KiB" send_bw Mbit/s
row "ib_write_bw RC 64 KiB" write_bw Mbit/s
row "ib_send_lat 2 B (typical)" send_lat us
[ -s /tmp/bv.c.send_bw ] && [ -s /tmp/bv.rs.send_bw ] && [ -s /tmp/bv.rs.reg.1073741824 ] &&
	[ -s /tmp/bv.c.reg.1073741824 ]
