#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`, second part, in one VM on the bench kernel: the software
# ConnectX-3 (mlx4_model) with the kernel's C mlx4_ib: ib_send_bw RC 64 KiB,
# ib_send_lat, and TCP over ib_ipoib (ib0 and ib1 in two namespaces) in
# datagram and connected mode, first the kernel's C ib_ipoib, then ours on the
# same boot, and the ratios Rust/C; in datagram mode also the rate of 64-byte
# UDP datagrams received (iperf3 -u -l 64 -b 0) and, in both modes, the
# round-trip time of 2000 back-to-back pings (with the model's engine
# busy-polling meanwhile: idle, it polls once a millisecond, which would hide
# the drivers' costs behind the phase of that poll).
# Then the same two ib_ipoibs on our mlx4_ib
# (the C one unloaded, ours loaded, opensm restarted), in the same boot: four
# figures per mode and the ratios. BENCH_ROUNDS rounds (default 3) alternate
# the two ib_ipoibs on each mlx4_ib; each figure is the median, with the spread,
# and the Rust/C ratios are also given per round (paired: each C run with the
# Rust run right after it), with their median and range. BENCH_MLX4=c leaves
# out our mlx4_ib, for more rounds of the ib_ipoib comparison in the same time.
# One extra run of each ib_ipoib on the C mlx4_ib is sampled with perf (every CPU,
# cpu-clock) for the hottest symbols of each in TCP and UDP, printed with the
# figures.
. "$REPO/tools/testing/selftests/lib.sh"
. "$REPO/tools/testing/bench-lib.sh"

T=${BENCH_SECONDS:-10}

model_start || { echo "bench-model: set-up failed"; exit 1; }
ip link set lo up

sbw=$(pair ib_send_bw -c RC -s 65536 -D "$T" -F --report_gbits | mbit)
# The latency line: bytes, iterations, t_min, t_max, t_typical, t_avg.
lat=$(pair ib_send_lat -s 2 -n 1000 -F | awk '$1 == 2 && NF >= 6 { print $5 }')

# ipoib_tcp LOAD...: loads an ib_ipoib with LOAD, puts ib1 in namespace b and
# measures TCP ib0 -> ib1 in datagram and then connected mode (MTU 65520),
# UDP 64-byte datagrams in datagram mode and ping round trips in both; sets
# dg, cm, udp, dglat and cmlat, then unloads the driver.
mbps() { python3 -c "import json,sys;d=json.load(open(sys.argv[1]));print(round(d['end']['sum_received']['bits_per_second']/1e6,1))" "$1"; }
# pps FILE: datagrams received per second in an iperf3 UDP run (sent less lost).
pps() { python3 -c "import json,sys;e=json.load(open(sys.argv[1]))['end'];s=e.get('sum_received',e['sum']);s=s if 'packets' in s else e['sum'];print(round((s['packets']-s['lost_packets'])/s['seconds']))" "$1"; }
# rtt: the average round trip, in microseconds, of 2000 pings sent back to back,
# with the model's engine busy-polling (as an HCA notices a doorbell at once), so
# that the figure is the drivers' and the stack's work, not the phase of the
# idle engine's millisecond poll.
rtt() {
	echo 1 >/sys/module/mlx4_model/parameters/busy_poll
	ping -c 2000 -i 0 -q -W 5 10.9.0.2 | awk -F/ '/^rtt/ { printf "%.0f", $5 * 1000 }'
	echo 0 >/sys/module/mlx4_model/parameters/busy_poll
}
ipoib_tcp() {
	dg= cm= udp= dglat= cmlat=
	"$@" || return 1
	wait_for 10 test -e /sys/class/net/ib1 || return 1
	ip netns add b
	ip link set ib1 netns b
	ip addr add 10.9.0.1/24 dev ib0
	ip link set ib0 up
	ip -n b link set lo up
	ip -n b addr add 10.9.0.2/24 dev ib1
	ip -n b link set ib1 up
	wait_for 30 sh -c "[ \$(cat /sys/class/net/ib0/carrier) = 1 ]"
	wait_for 30 ip netns exec b sh -c "[ \$(cat /sys/class/net/ib1/carrier) = 1 ]"
	ping -c 2 -W 5 10.9.0.2 >/dev/null
	ip netns exec b iperf3 -s -D -p 5201
	sleep 1
	sampled dg iperf3 -c 10.9.0.2 -p 5201 -t "$T" -J >/tmp/dg.json && dg=$(mbps /tmp/dg.json)
	sampled udp iperf3 -c 10.9.0.2 -p 5201 -u -l 64 -b 0 -t "$T" -J >/tmp/udp.json &&
		udp=$(pps /tmp/udp.json)
	[ -n "${PROFILE:-}" ] || dglat=$(rtt)
	echo connected >/sys/class/net/ib0/mode
	ip netns exec b sh -c 'echo connected >/sys/class/net/ib1/mode'
	ip link set ib0 mtu 65520
	ip -n b link set ib1 mtu 65520
	ping -c 2 -W 5 10.9.0.2 >/dev/null
	sampled cm iperf3 -c 10.9.0.2 -p 5201 -t "$T" -J >/tmp/cm.json && cm=$(mbps /tmp/cm.json)
	[ -n "${PROFILE:-}" ] || cmlat=$(rtt)
	pkill iperf3
	rmmod ib_ipoib
	ip netns del b
}

ROUNDS=${BENCH_ROUNDS:-3}

# rounds TAG: ROUNDS alternating runs of the C ib_ipoib and ours on the loaded
# mlx4_ib; the results in /tmp/bench.TAG.{c,rs}.{dg,cm}.
rounds() {
	rm -f /tmp/bench.$1.*
	for _r in $(seq "$ROUNDS"); do
		ipoib_tcp modprobe ib_ipoib
		keep "$1" c
		# Ours: not in the VM's module tree (ib_cm is its only other need).
		ipoib_tcp sh -c "modprobe ib_cm && insmod '$REPO/ib_ipoib.ko'"
		keep "$1" rs
	done
}
# keep TAG IPOIB: appends the figures of the last ipoib_tcp to /tmp/bench.TAG.IPOIB.*.
keep() {
	for _f in dg cm udp dglat cmlat; do
		eval "_v=\$$_f"
		[ -n "$_v" ] && echo "$_v" >>"/tmp/bench.$1.$2.$_f"
	done
}

rounds cmlx4
# One more run of each with perf sampling (not counted in the figures): where the
# time goes, C next to ours.
PROFILE=c
ipoib_tcp modprobe ib_ipoib
PROFILE=rs
ipoib_tcp sh -c "modprobe ib_cm && insmod '$REPO/ib_ipoib.ko'"
PROFILE=
# Our mlx4_ib in place of the C one: opensm goes with the ports it held.
pkill -x opensm
wait_for 15 sh -c "! pgrep -x opensm" || pkill -9 -x opensm
# rmmod, not modprobe -r, which would also take mlx4_model and ib_core away.
wait_for 30 rmmod ib_umad || echo "bench-model: ib_umad did not unload"
wait_for 30 rmmod mlx4_ib || echo "bench-model: the C mlx4_ib did not unload"
ours_up=
if [ "${BENCH_MLX4:-}" = c ]; then
	# Only the C mlx4_ib: more rounds of the ib_ipoib comparison in the same time.
	ours_up=skipped
elif insmod "$REPO/mlx4_ib.ko" && loaded_ours mlx4_ib && modprobe ib_umad &&
	wait_for 20 test -e /sys/class/infiniband/mlx4_1/ports/1/state &&
	opensm -g $MODEL_SM_GUID -B -f /tmp/opensm2.log >/dev/null 2>&1 &&
	wait_for 60 sh -c "grep -q ACTIVE /sys/class/infiniband/mlx4_0/ports/1/state &&
		grep -q ACTIVE /sys/class/infiniband/mlx4_1/ports/1/state"; then
	ours_up=1
	rounds rsmlx4
fi
c_dg=$(med /tmp/bench.cmlx4.c.dg) c_cm=$(med /tmp/bench.cmlx4.c.cm)
rs_dg=$(med /tmp/bench.cmlx4.rs.dg) rs_cm=$(med /tmp/bench.cmlx4.rs.cm)

echo
echo "bench: software ConnectX-3 (mlx4_model), ${T}s each, median of $ROUNDS alternating rounds (min-max)"
echo "bench: model ib_send_bw RC 64 KiB (C mlx4_ib)  ${sbw:-?} Mbit/s"
echo "bench: model ib_send_lat 2 B (typical, C)      ${lat:-?} us"
mlx4s="cmlx4 rsmlx4"
[ "$ours_up" = skipped ] && mlx4s=cmlx4
for m in $mlx4s; do
	case $m in cmlx4) mn="C mlx4_ib   " ;; rsmlx4) mn="Rust mlx4_ib" ;; esac
	for mode in dg cm; do
		case $mode in dg) md=datagram ;; cm) md=connected ;; esac
		echo "bench: model $mn C ib_ipoib TCP $md    $(median /tmp/bench.$m.c.$mode) Mbit/s"
		echo "bench: model $mn Rust ib_ipoib TCP $md $(median /tmp/bench.$m.rs.$mode) Mbit/s"
		echo "bench: model $mn C ib_ipoib ping RTT $md    $(median /tmp/bench.$m.c.${mode}lat) us"
		echo "bench: model $mn Rust ib_ipoib ping RTT $md $(median /tmp/bench.$m.rs.${mode}lat) us"
	done
	echo "bench: model $mn C ib_ipoib UDP 64 B datagram    $(median /tmp/bench.$m.c.udp) pkt/s"
	echo "bench: model $mn Rust ib_ipoib UDP 64 B datagram $(median /tmp/bench.$m.rs.udp) pkt/s"
done
for mode in dg cm udp; do
	case $mode in udp) what="UDP 64 B dg" ;; *) what="TCP $mode" ;; esac
	for ipo in c rs; do
		case $ipo in c) n=C ;; rs) n=Rust ;; esac
		echo "bench: profile, $n ib_ipoib $what (C mlx4_ib), hottest symbols, % of samples:"
		sed 's/^/bench:   /' /tmp/profile.$ipo.$mode 2>/dev/null || echo "bench:   (no profile)"
	done
done
echo "bench: ratio Rust/C ib_ipoib datagram (C mlx4_ib)       $(ratio "$rs_dg" "$c_dg")"
echo "bench: ratio Rust/C ib_ipoib connected (C mlx4_ib)      $(ratio "$rs_cm" "$c_cm")"
echo "bench: ratio Rust/C ib_ipoib UDP 64 B rate (C mlx4_ib)  $(ratio \
	"$(med /tmp/bench.cmlx4.rs.udp)" "$(med /tmp/bench.cmlx4.c.udp)")"
for mode in dg cm; do
	# Time: C over Rust, so that above 1 is ours faster, as for the others.
	echo "bench: ratio C/Rust ib_ipoib ping RTT $mode (C mlx4_ib)    $(ratio \
		"$(med /tmp/bench.cmlx4.c.${mode}lat)" "$(med /tmp/bench.cmlx4.rs.${mode}lat)")"
done
# The same ratios per round (each C run next to the Rust run after it).
d=/tmp/bench.cmlx4
echo "bench: paired Rust/C ib_ipoib datagram (C mlx4_ib)      $(paired $d.rs.dg $d.c.dg)"
echo "bench: paired Rust/C ib_ipoib connected (C mlx4_ib)     $(paired $d.rs.cm $d.c.cm)"
echo "bench: paired Rust/C ib_ipoib UDP 64 B rate (C mlx4_ib) $(paired $d.rs.udp $d.c.udp)"
for mode in dg cm; do
	echo "bench: paired C/Rust ib_ipoib ping RTT $mode (C mlx4_ib)   $(paired \
		$d.c.${mode}lat $d.rs.${mode}lat)"
done
[ "$ours_up" = skipped ] || for ipo in c rs; do
	for mode in dg cm; do
		echo "bench: ratio Rust/C mlx4_ib, $ipo ib_ipoib $mode          $(ratio \
			"$(med /tmp/bench.rsmlx4.$ipo.$mode)" "$(med /tmp/bench.cmlx4.$ipo.$mode)")"
	done
done
[ -n "$sbw" ] && [ -n "$lat" ] && [ -n "$c_dg" ] && [ -n "$c_cm" ] && [ -n "$rs_dg" ] &&
	[ -n "$rs_cm" ] && { [ "$ours_up" = skipped ] || { [ -n "$ours_up" ] &&
	[ -s /tmp/bench.rsmlx4.rs.cm ]; }; }
