#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Removing the C ib_ipoib while it carries TCP, then mlx4_ib and the software
# ConnectX-3 while a userspace RDMA WRITE stream runs: everything unbinds
# cleanly (no splat), the applications can be killed, nothing leaks, and the
# HCAs come back on the next load. (mlx4_ib is not removed under ib_ipoib: the
# C ib_ipoib then races its flush work, queued by the cabled peer's PORT_ERR,
# with unregistering the netdev, and warns in ipoib_ndo_uninit.)
# timeout: 420
# mlx4_ib: both
# exercises: reference
. "$(dirname "$0")/../lib.sh"

check "mlx4_ib and opensm up, both ports ACTIVE" model_start
check "modprobe ib_ipoib" modprobe ib_ipoib
check "the loaded ib_ipoib is the C one" loaded_c ib_ipoib
wait_for 10 test -e /sys/class/net/ib1
ip link set lo up
ip netns add b
ip link set ib1 netns b
ip addr add 10.9.0.1/24 dev ib0
ip link set ib0 up
ip -n b link set lo up
ip -n b addr add 10.9.0.2/24 dev ib1
ip -n b link set ib1 up
check "ping over ib0" wait_for 30 ping -c 1 -W 2 10.9.0.2

ip netns exec b iperf3 -s -1 -D
sleep 1
iperf3 -c 10.9.0.2 -t 120 >/tmp/iperf.out 2>&1 &
iperf_pid=$!
# --run_infinitely: a bandwidth line every 2 s, so the stream can be seen running.
ib_write_bw -d mlx4_0 --run_infinitely -D 2 >/tmp/wsrv.out 2>&1 &
srv_pid=$!
sleep 2
ib_write_bw -d mlx4_1 --run_infinitely -D 2 127.0.0.1 >/tmp/wcli.out 2>&1 &
cli_pid=$!
# tcp_flowing: ib0 sent more than 1 MB in 2 s.
tcp_flowing() {
	b0=$(cat /sys/class/net/ib0/statistics/tx_bytes)
	sleep 2
	b1=$(cat /sys/class/net/ib0/statistics/tx_bytes)
	echo "ib0 sent $((b1 - b0)) bytes in 2 s"
	[ $((b1 - b0)) -gt 1000000 ]
}
check "TCP is flowing over ib0" wait_for 20 tcp_flowing
check "RDMA WRITEs are flowing (ib_write_bw reports bandwidth)" \
	wait_for 30 perftest_flowing /tmp/wcli.out
tail -n 3 /tmp/wcli.out | sed 's/^/#   /'

check "rmmod ib_ipoib under TCP traffic" modprobe -r ib_ipoib
check "ib0 gone" test ! -e /sys/class/net/ib0
check "rmmod mlx4_ib under RDMA WRITE traffic" modprobe -r mlx4_ib
check "no mlx4 device left" sh -c "! ls /sys/class/infiniband | grep -q mlx4"
check "rmmod mlx4_model" modprobe -r mlx4_model
kill $iperf_pid $srv_pid $cli_pid 2>/dev/null
for p in $iperf_pid $srv_pid $cli_pid; do
	check "application $p exits when killed" wait_for 15 sh -c "! kill -0 $p"
done
wait 2>/dev/null

pkill -x opensm
ip netns del b
check "mlx4_ib comes back" sh -c "modprobe mlx4_ib && sleep 1 &&
	grep -q INIT /sys/class/infiniband/mlx4_1/ports/1/state"
check "modules unload" sh -c "modprobe -r ib_ipoib ib_umad mlx4_ib mlx4_model"
check "no leak (kmemleak)" kmemleak_check
finish
