#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make demo-ib`, in one VM with the software ConnectX-3 (two one-port HCAs
# cabled to each other): our mlx4_ib on both HCAs, opensm on mlx4_0, our
# ib_ipoib with ib0 and ib1 over the InfiniBand link layer, each in its own
# network namespace, and IP traffic between them; then what ibstat, the SA and
# the interfaces show. Exits non-zero if a step fails.
. "$REPO/tools/testing/selftests/lib.sh"

say() { echo; echo "[vm] \$ $*"; "$@"; }
rc=0
step() { "$@" || { echo "[vm] FAILED: $*"; rc=1; }; }

say modprobe mlx4_model
say modprobe mlx4_ib
loaded_ours mlx4_ib || { echo "[vm] the loaded mlx4_ib is not ours"; exit 1; }
say modprobe ib_umad
wait_for 20 test -e /sys/class/infiniband/mlx4_1/ports/1/state
say rdma link show
echo
echo "[vm] \$ opensm -g $MODEL_SM_GUID -B   # the subnet manager, on mlx4_0 port 1"
opensm -g $MODEL_SM_GUID -B -f /tmp/opensm.log >/tmp/opensm.out 2>&1
step wait_for 60 sh -c "grep -q ACTIVE /sys/class/infiniband/mlx4_0/ports/1/state &&
	grep -q ACTIVE /sys/class/infiniband/mlx4_1/ports/1/state"
say ibstat
say sminfo
say ibnodes

say modprobe ib_ipoib
loaded_ours ib_ipoib || { echo "[vm] the loaded ib_ipoib is not ours"; exit 1; }
wait_for 20 sh -c "test -e /sys/class/net/ib0 && test -e /sys/class/net/ib1"
echo
echo "[vm] ib0 (mlx4_0) into namespace a as 10.9.0.1, ib1 (mlx4_1) into b as 10.9.0.2"
step model_ipoib_netns
step wait_for 30 sh -c '[ "$(ip netns exec a cat /sys/class/net/ib0/carrier)" = 1 ] &&
	[ "$(ip netns exec b cat /sys/class/net/ib1/carrier)" = 1 ]'
say ip -n a -d addr show ib0
say ip netns exec a ethtool -i ib0
say step ip netns exec a ping -c 3 10.9.0.2
say step ip netns exec a ping -6 -c 3 fd00:9::2
say step ip netns exec a ping -c 2 -s 60000 10.9.0.2
ip netns exec b iperf3 -s -1 -D -B 10.9.0.2
sleep 1
say step ip netns exec a iperf3 -c 10.9.0.2 -t 5
echo
echo "[vm] connected mode (RFC 4755): MTU 65520, an RC connection per peer"
for i in a:ib0 b:ib1; do
	ip netns exec ${i%%:*} sh -c "echo connected >/sys/class/net/${i#*:}/mode" || rc=1
	ip -n ${i%%:*} link set ${i#*:} mtu 65520 || rc=1
done
ip netns exec b iperf3 -s -1 -D -B 10.9.0.2
sleep 1
say step ip netns exec a iperf3 -c 10.9.0.2 -t 5
say ip -n a -s link show ib0
say ip -n a neigh show dev ib0
echo
echo "[vm] the SA's view: the IPoIB broadcast group and its members"
say saquery -g
say saquery -m
say rdma res show qp

ip netns del a
ip netns del b
pkill -x opensm
wait_for 15 sh -c "! pgrep -x opensm"
say modprobe -r ib_ipoib
wait_for 30 modprobe -r ib_umad mlx4_ib mlx4_model
[ "$rc" = 0 ] && echo "[vm] demo-ib: every step succeeded" || echo "[vm] demo-ib: a step FAILED"
exit $rc
