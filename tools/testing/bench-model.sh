#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`, second part, in one VM on the bench kernel: the software
# ConnectX-3 (mlx4_model) with the kernel's C mlx4_ib and C ib_ipoib, the
# baselines our Rust drivers will be measured against on the same model:
# ib_send_bw RC 64 KiB, ib_send_lat, and TCP over the C ib_ipoib (ib0 and ib1
# in two namespaces) in datagram and connected mode.
. "$REPO/tools/testing/selftests/lib.sh"

T=${BENCH_SECONDS:-10}

model_start || { echo "bench-model: set-up failed"; exit 1; }
ip link set lo up

# pair CMD...: perftest server on mlx4_0, client on mlx4_1; prints the client's output.
pair() {
	"$@" -d mlx4_0 >/tmp/srv.out 2>&1 &
	sleep 2
	"$@" -d mlx4_1 127.0.0.1 >/tmp/cli.out 2>&1
	wait
	cat /tmp/cli.out
}
gbit() { awk '$1 ~ /^[0-9]+$/ && NF >= 5 { bw = $4 } END { if (bw != "") printf "%.1f", bw * 1000 }'; }
sbw=$(pair ib_send_bw -c RC -s 65536 -D "$T" -F --report_gbits | gbit)
# The latency line: bytes, iterations, t_min, t_max, t_typical, t_avg.
lat=$(pair ib_send_lat -s 2 -n 1000 -F | awk '$1 == 2 && NF >= 6 { print $5 }')

modprobe ib_ipoib
wait_for 10 test -e /sys/class/net/ib1
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
mbps() { python3 -c "import json,sys;d=json.load(open(sys.argv[1]));print(round(d['end']['sum_received']['bits_per_second']/1e6,1))" "$1"; }
ip netns exec b iperf3 -s -D -p 5201
sleep 1
iperf3 -c 10.9.0.2 -p 5201 -t "$T" -J >/tmp/dg.json && dg=$(mbps /tmp/dg.json)
echo connected >/sys/class/net/ib0/mode
ip netns exec b sh -c 'echo connected >/sys/class/net/ib1/mode'
ip link set ib0 mtu 65520
ip -n b link set ib1 mtu 65520
ping -c 2 -W 5 10.9.0.2 >/dev/null
iperf3 -c 10.9.0.2 -p 5201 -t "$T" -J >/tmp/cm.json && cm=$(mbps /tmp/cm.json)

echo
echo "bench: software ConnectX-3 (mlx4_model) with the C mlx4_ib and C ib_ipoib, ${T}s each"
echo "bench: model ib_send_bw RC 64 KiB       ${sbw:-?} Mbit/s"
echo "bench: model ib_send_lat 2 B (typical)  ${lat:-?} us"
echo "bench: model C ib_ipoib TCP datagram    ${dg:-?} Mbit/s"
echo "bench: model C ib_ipoib TCP connected   ${cm:-?} Mbit/s"
[ -n "$sbw" ] && [ -n "$lat" ] && [ -n "$dg" ] && [ -n "$cm" ]
