#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`, run in each of the two VMs: soft-RoCE on the virtual wire
# between them, our ib_ipoib and mlx4_ib loaded, ib0 up, and IP traffic over
# it.
. "$REPO/tools/testing/selftests/lib.sh"

say() { echo; echo "[vm $VM_NAME] \$ $*"; "$@"; }

say ip link set eth0 mtu 9000
modprobe rdma_rxe
say rdma link add rxe0 type rxe netdev eth0
say modprobe ib_ipoib
say modprobe mlx4_ib
say rdma link show
echo
echo "[vm $VM_NAME] what the modules logged:"
dmesg | grep -E 'ib_ipoib|mlx4_ib' | sed 's/^/    /'
say ls /sys/bus/auxiliary/drivers/
say ip addr add "$(ib_ip4)/24" dev ib0
say ip addr add "$(ib_ip6)/64" dev ib0
say ip link set ib0 up
wait_for 20 sh -c '[ "$(cat /sys/class/net/ib0/carrier)" = 1 ]'
say ip -d addr show ib0
say ethtool -i ib0

barrier ready
rc=0
if [ "$VM_NAME" = a ]; then
	say ping -c 3 "$(ib_ip4 b)" || rc=1
	wait_for 20 ping -6 -c 1 -W 2 "$(ib_ip6 b)" >/dev/null
	say ping -6 -c 3 "$(ib_ip6 b)" || rc=1
	say ping -c 2 -s 8000 "$(ib_ip4 b)" || rc=1
	get iperf 60 >/dev/null
	say iperf3 -c "$(ib_ip4 b)" -t 5 || rc=1
	put done 1
else
	iperf3 -s -1 -D -B "$(ib_ip4)"
	put iperf ready
	get done 120 >/dev/null
fi
barrier traffic
say ip -s link show ib0
say ip neigh show dev ib0
say modprobe -r ib_ipoib mlx4_ib
rdma link delete rxe0
exit $rc
