#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`, run in each of the two VMs: soft-RoCE on the virtual wire
# between them, our ib_ipoib and mlx4_ib loaded, and what they report.
. "$REPO/tools/testing/selftests/lib.sh"

say() { echo; echo "[vm $VM_NAME] \$ $*"; "$@"; }

modprobe rdma_rxe
say rdma link add rxe0 type rxe netdev eth0
say modprobe ib_ipoib
say modprobe mlx4_ib
say rdma link show
say lsmod
echo
echo "[vm $VM_NAME] what ib_ipoib found:"
dmesg | grep -E 'ib_ipoib|mlx4_ib' | sed 's/^/    /'
say ls /sys/bus/auxiliary/drivers/
say grep . /sys/module/ib_ipoib/parameters/send_queue_size /sys/module/ib_ipoib/parameters/recv_queue_size

# The soft-RoCE fabric between the VMs carries verbs traffic (the UD transport
# IPoIB's datagram mode uses), exchanging QP numbers over TCP on the underlay.
setup_underlay_ip
barrier ready
if [ "$VM_NAME" = a ]; then
	say timeout 60 ibv_ud_pingpong -d rxe0 -g 0 -n 100
	rc=$?
else
	wait_for 10 ping -c 1 -W 1 "$(underlay_ip a)"
	sleep 1
	say timeout 60 ibv_ud_pingpong -d rxe0 -g 0 -n 100 "$(underlay_ip a)"
	rc=$?
fi
barrier done
say modprobe -r ib_ipoib mlx4_ib
rdma link delete rxe0
exit $rc
