#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Our ib_ipoib on an InfiniBand link layer: the software ConnectX-3 under the
# kernel's C mlx4_ib, with opensm as subnet manager. ib0 and ib1 (one per HCA,
# in two network namespaces) join the broadcast group through the SA, which
# gives them their Q_Key and MTU, resolve each other with SA path records and
# carry IPv4 and IPv6 in datagram and connected mode. P_Key children follow
# opensm's partitions (a P_Key added later brings its child up), and a restarted
# opensm (client reregistration) gets every group joined again.
# timeout: 900
# swiotlb: yes
# mlx4_ib: both
# exercises: ours
. "$(dirname "$0")/../lib.sh"

model_partitions
# carrier NS DEV [NS DEV]...: every DEV in namespace NS has carrier.
carrier() {
	while [ $# -ge 2 ]; do
		[ "$(ip netns exec "$1" cat "/sys/class/net/$2/carrier" 2>/dev/null)" = 1 ] || return 1
		shift 2
	done
}
# The broadcast group's members in the SA: one record per port, with its port GID for a
# trusted query (opensm's default SM_Key is 1; untrusted queries see one anonymous record).
bcast_members() {
	saquery --smkey 1 -m 2>/dev/null | grep -A2 -i 'MGID.*ff12:401b:ffff::ffff:ffff' |
		grep -c 'PortGid.*fe80'
}
both_members() { [ "$(bcast_members)" -ge 2 ]; }

check "mlx4_ib and opensm up, both ports ACTIVE" model_start
modprobe ib_cm
check "insmod our ib_ipoib" insmod "$REPO/ib_ipoib.ko"
check "the loaded ib_ipoib is ours" loaded_ours ib_ipoib
wait_for 10 test -e /sys/class/net/ib1 || fail "no ib1"
check "ib0 and ib1 up in namespaces a and b" model_ipoib_netns

ip -n a -d link show ib0 | sed 's/^/#   /'
check "link/infiniband with the 4K broadcast address" sh -c \
	"ip -n a link show ib0 | grep -q 'brd 00:ff:ff:ff:ff:12:40:1b:ff:ff:00:00:00:00:00:00:ff:ff:ff:ff'"
check "ib0 carrier (broadcast group joined through the SA)" wait_for 30 carrier a ib0
check "ib1 carrier" wait_for 30 carrier b ib1
check_eq "datagram MTU from the broadcast group (mtu=5: 4K)" 4092 \
	"$(ip netns exec a cat /sys/class/net/ib0/mtu)"
check "both ports are members of the broadcast group in the SA" wait_for 20 both_members
check "ping (datagram, SA path record)" pings -n a 3 10.9.0.2
[ "$FAILED" = 0 ] || model_ipoib_diag | sed 's/^/#   /' 
check "ip neigh holds ib1's 20-byte address" sh -c \
	"ip -n a neigh show 10.9.0.2 | grep -q '$(ip netns exec b cat /sys/class/net/ib1/address)'"
check "ping6 (datagram)" pings -n a 3 -6 fd00:9::2
check "ping -s 8000 (fragments)" pings -n a 2 -s 8000 10.9.0.2
check "ping 224.0.0.1 answered by ib1 (IPv4 group joined)" \
	mcast_pings -n a 3 10.9.0.2 -I ib0 224.0.0.1
# ib1's link-local address (its port GUID with the universal/local bit set): ib0
# answers too.
IB1_LL=fe80::202:c903:a0:101
check "ping ff02::1 answered by ib1 (IPv6 group joined)" \
	mcast_pings -n a 3 "$IB1_LL" -6 ff02::1%ib0
# debugfs is global (ip netns exec would hide it behind a new /sys).
sed 's/^/#   /' /sys/kernel/debug/ipoib/ib0_mcg | head -n 12
sed 's/^/#   /' /sys/kernel/debug/ipoib/ib0_path
check "debugfs: the broadcast group is complete" sh -c \
	"grep -A3 -i 'GID: ff12:401b:ffff:0:0:0:ffff:ffff' /sys/kernel/debug/ipoib/ib0_mcg | grep -q 'complete: *yes'"
check "debugfs: the path to ib1 has ib1's LID" sh -c \
	"grep -A2 'GID: fe80:0:0:0:2:c903:a0:101' /sys/kernel/debug/ipoib/ib0_path | grep -q 'DLID: *0x0002'"
# A group nobody joined: sending to it makes a send-only join (SendOnlyFullMember).
ip netns exec a ping -c 2 -W 1 -I ib0 239.1.2.3 >/dev/null 2>&1
check "a send-only join for a group ib0 only sends to" wait_for 10 sh -c \
	"grep -A4 'GID: ff12:401b:ffff:0:0:0:f01:203' /sys/kernel/debug/ipoib/ib0_mcg |
	grep -q 'complete: *yes' &&
	grep -A5 'GID: ff12:401b:ffff:0:0:0:f01:203' /sys/kernel/debug/ipoib/ib0_mcg |
	grep -q 'send_only: *yes'"
ip netns exec b iperf3 -s -1 -D
sleep 1
check "iperf3 (datagram)" sh -c "timeout 60 ip netns exec a iperf3 -c 10.9.0.2 -t 3 >/tmp/iperf.dg"
grep receiver /tmp/iperf.dg | sed 's/^/#   /'

check "connected mode on both ends" sh -c \
	"ip -n a link set ib0 type ipoib mode connected && ip -n b link set ib1 type ipoib mode connected"
ip -n a link set ib0 mtu 65520
ip -n b link set ib1 mtu 65520
check "ping -s 60000 (connected, REQ on the SA's path)" pings -n a 3 -s 60000 10.9.0.2
check "ping6 -s 30000 (connected)" pings -n a 2 -6 -s 30000 fd00:9::2
ip netns exec b iperf3 -s -1 -D
sleep 1
check "iperf3 (connected)" sh -c "timeout 60 ip netns exec a iperf3 -c 10.9.0.2 -t 3 >/tmp/iperf.cm"
grep receiver /tmp/iperf.cm | sed 's/^/#   /'
# One connection each way, each with a QP at both ends: 4 RC QPs, no more.
check_eq "RC QPs in rdma res (one connection each way)" 4 "$(rdma res show qp | grep -c 'type RC')"
# Their receive buffers come from an SRQ per interface (the HCA has SRQs, on both mlx4_ibs).
check_eq "SRQs in rdma res (one per interface)" 2 "$(rdma res show srq | grep -c srqn)"
ip -n a link set ib0 type ipoib mode datagram
ip -n b link set ib1 type ipoib mode datagram

# opensm restarts: a new SM has no groups, and it asks every port to register again
# (PortInfo:ClientReregister); the interfaces join again and traffic goes on.
pkill -x opensm
wait_for 15 sh -c "! pgrep -x opensm" || pkill -9 -x opensm
wait_for 15 sh -c "! pgrep -x opensm"
opensm -g $MODEL_SM_GUID -B -f /tmp/opensm2.log -P $PARTITIONS >/tmp/opensm.out 2>&1
check "after the opensm restart (client reregistration), both ports joined again" \
	wait_for 60 both_members
check "carrier back on ib0 and ib1" wait_for 60 carrier a ib0 b ib1
check "ping after the restart" wait_for 30 ip netns exec a ping -c 1 -W 2 10.9.0.2
check "then 3 of 3 pings answered" pings -n a 3 10.9.0.2
check "ping ff02::1 after the restart" mcast_pings -n a 3 "$IB1_LL" -6 ff02::1%ib0

# The partition opensm programmed: a child with P_Key 0x8001 on each side.
check "create_child 0x8001 on ib0 and ib1" sh -c \
	"ip netns exec a sh -c 'echo 0x8001 >/sys/class/net/ib0/create_child' &&
	ip netns exec b sh -c 'echo 0x8001 >/sys/class/net/ib1/create_child'"
# A legacy child may be created in the initial namespace.
[ -e /sys/class/net/ib0.8001 ] && ip link set ib0.8001 netns a
[ -e /sys/class/net/ib1.8001 ] && ip link set ib1.8001 netns b
ip -n a addr add 10.9.1.1/24 dev ib0.8001
ip -n a link set ib0.8001 up
ip -n b addr add 10.9.1.2/24 dev ib1.8001
ip -n b link set ib1.8001 up
check "ib0.8001 carrier (its own broadcast group)" wait_for 30 carrier a ib0.8001
check "ping over P_Key 0x8001" wait_for 20 ip netns exec a ping -c 1 -W 2 10.9.1.2
check "then 3 of 3 pings answered over 0x8001" pings -n a 3 10.9.1.2

# A P_Key not in any partition yet: the child stays without carrier until opensm
# programs it (P_Key change event), then carries traffic.
check "ip link add ... pkey 0x8002 on both ends" sh -c \
	"ip -n a link add link ib0 name ib0.8002 type ipoib pkey 0x8002 &&
	ip -n b link add link ib1 name ib1.8002 type ipoib pkey 0x8002"
ip -n a addr add 10.9.2.1/24 dev ib0.8002
ip -n a link set ib0.8002 up
ip -n b addr add 10.9.2.2/24 dev ib1.8002
ip -n b link set ib1.8002 up
sleep 2
check "ib0.8002 has no carrier while 0x8002 is not in the P_Key table" \
	sh -c "[ \$(ip netns exec a cat /sys/class/net/ib0.8002/carrier) = 0 ]"
echo "P2=0x8002, ipoib, mtu=5 : ALL=full;" >>$PARTITIONS
pkill -HUP -x opensm
check "0x8002 enters mlx4_0's P_Key table" wait_for 60 \
	sh -c "grep -q 0x8002 /sys/class/infiniband/mlx4_0/ports/1/pkeys/*"
check "ib0.8002 and ib1.8002 carrier after the P_Key change" \
	wait_for 60 carrier a ib0.8002 b ib1.8002
check "ping over P_Key 0x8002" wait_for 20 ip netns exec a ping -c 1 -W 2 10.9.2.2
check "then 3 of 3 pings answered over 0x8002" pings -n a 3 10.9.2.2

# Unload under traffic.
ip netns exec b iperf3 -s -1 -D
sleep 1
timeout 40 ip netns exec a iperf3 -c 10.9.0.2 -t 30 >/dev/null 2>&1 &
sleep 3
check "rmmod ib_ipoib under traffic" timeout 60 rmmod ib_ipoib
pkill iperf3
wait
check "DMA went through bounce buffers (when swiotlb=force)" swiotlb_bounced
ip netns del a
ip netns del b
check "opensm stops, modules unload" model_stop
check "no leak (kmemleak)" kmemleak_check
finish
