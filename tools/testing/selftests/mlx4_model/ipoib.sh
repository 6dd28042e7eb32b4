#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The kernel's C ib_ipoib on the software ConnectX-3 (an InfiniBand link
# layer): ib0 and ib1 in two network namespaces join the broadcast group
# through opensm's SA and carry IPv4 and IPv6 in datagram and connected mode;
# a P_Key from opensm's partitions.conf gives a child that carries traffic.
# timeout: 600
# swiotlb: yes
# mlx4_ib: both
# exercises: reference
. "$(dirname "$0")/../lib.sh"

model_partitions
check "mlx4_ib and opensm up, both ports ACTIVE" model_start
check "modprobe ib_ipoib (the kernel's C driver)" modprobe ib_ipoib
check "ib_ipoib is the C driver" \
	sh -c "modinfo -F filename ib_ipoib | grep -q /kernel/drivers/infiniband/ulp/ipoib/"
check "the loaded ib_ipoib is the C one" loaded_c ib_ipoib
wait_for 10 test -e /sys/class/net/ib1 || fail "no ib1"
ip netns add b
ip link set ib1 netns b
ip addr add 10.9.0.1/24 dev ib0
ip addr add fd00:9::1/64 dev ib0 nodad
ip link set ib0 up
ip -n b link set lo up
ip -n b addr add 10.9.0.2/24 dev ib1
ip -n b addr add fd00:9::2/64 dev ib1 nodad
ip -n b link set ib1 up
check "ib0 carrier (broadcast group joined)" wait_for 30 \
	sh -c "[ \$(cat /sys/class/net/ib0/carrier) = 1 ]"
check "ib1 carrier" wait_for 30 ip netns exec b sh -c "[ \$(cat /sys/class/net/ib1/carrier) = 1 ]"
check_eq "datagram MTU (4K broadcast group)" 4092 "$(cat /sys/class/net/ib0/mtu)"
# The IPoIB offloads follow the caps (legacy_caps.sh runs this without them).
[ "${MODEL_CAPS:-}" = legacy ] && want=off || want=on
check_eq "TSO as the caps say" $want \
	"$(ethtool -k ib0 | sed -n 's/^tcp-segmentation-offload: \([a-z]*\).*/\1/p')"
check_eq "TX checksum offload as the caps say" $want \
	"$(ethtool -k ib0 | sed -n 's/^[[:space:]]*tx-checksum-ipv4: \([a-z]*\).*/\1/p')"
check "ping (datagram)" pings 3 10.9.0.2
check "ping6 (datagram)" pings 3 -6 fd00:9::2
check "ping -s 4000 (datagram)" pings 2 -s 4000 10.9.0.2
ip netns exec b iperf3 -s -1 -D
sleep 1
check "iperf3 (datagram)" sh -c "timeout 60 iperf3 -c 10.9.0.2 -t 3 >/tmp/iperf.dg"
grep receiver /tmp/iperf.dg | sed 's/^/#   /'

check "connected mode on both ends" sh -c "echo connected >/sys/class/net/ib0/mode &&
	ip netns exec b sh -c 'echo connected >/sys/class/net/ib1/mode'"
ip link set ib0 mtu 65520
ip -n b link set ib1 mtu 65520
check "ping -s 60000 (connected)" pings 3 -s 60000 10.9.0.2
check "ping6 -s 30000 (connected)" pings 2 -6 -s 30000 fd00:9::2
ip netns exec b iperf3 -s -1 -D
sleep 1
check "iperf3 (connected)" sh -c "timeout 60 iperf3 -c 10.9.0.2 -t 3 >/tmp/iperf.cm"
grep receiver /tmp/iperf.cm | sed 's/^/#   /'
# One connection each way, each with a QP at both ends: 4 RC QPs, no more.
check_eq "RC QPs in rdma res (one connection each way)" 4 "$(rdma res show qp | grep -c 'type RC')"
# Their receive buffers come from an SRQ per interface (the HCA has SRQs, on both mlx4_ibs).
check_eq "SRQs in rdma res (one per interface)" 2 "$(rdma res show srq | grep -c srqn)"

# The partition opensm programmed: a child with P_Key 0x8001 on each side.
check_eq "P_Key 0x8001 in mlx4_0's table" 0x8001 "$(cat /sys/class/infiniband/mlx4_0/ports/1/pkeys/1)"
check "create_child 0x8001 on ib0 and ib1" sh -c "echo 0x8001 >/sys/class/net/ib0/create_child &&
	ip netns exec b sh -c 'echo 0x8001 >/sys/class/net/ib1/create_child'"
# A child is created in the initial namespace; ib1's goes to b.
[ -e /sys/class/net/ib1.8001 ] && ip link set ib1.8001 netns b
ip addr add 10.9.1.1/24 dev ib0.8001
ip link set ib0.8001 up
ip -n b addr add 10.9.1.2/24 dev ib1.8001
ip -n b link set ib1.8001 up
check "ib0.8001 carrier" wait_for 30 sh -c "[ \$(cat /sys/class/net/ib0.8001/carrier) = 1 ]"
check "ping over P_Key 0x8001" pings 3 10.9.1.2
check "the child sends with P_Key 0x8001" sh -c "grep -q 0x8001 /sys/class/net/ib0.8001/pkey"

check "DMA went through bounce buffers (when swiotlb=force)" swiotlb_bounced
ip netns del b
check "opensm stops, modules unload" model_stop
check "no leak (kmemleak)" kmemleak_check
finish
