#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The ib_core client: add() for RDMA devices present at load and created
# later, with each port's link layer, state and MTU; iWARP (siw) skipped;
# remove() when a device is deleted and at unload; nothing leaked.
# timeout: 180
# exercises: ours
. "$(dirname "$0")/../lib.sh"

modprobe rdma_rxe || skip "no rdma_rxe"
ip link set eth0 mtu 1500
check "rxe0 on eth0 created" rdma link add rxe0 type rxe netdev eth0

check "ib_ipoib loads" modprobe ib_ipoib
check "the loaded ib_ipoib is ours" loaded_ours ib_ipoib
check "add() for rxe0 (present at load)" \
	dmesg_has 'ib_ipoib: rxe0 port 1: link layer Ethernet, state ACTIVE, active MTU 1024, max MTU 4096, GID\[0\] fe80:0000:0000:0000:5054:00ff:fe12:340'
check "rxe0 P_Key[0] is the default partition" dmesg_has "ib_ipoib: rxe0 port 1: .*P_Key\[0\] 0xffff"

# A second device created after load, on a link that is down: the port
# state follows the underlay.
ip link add veth0 type veth peer name veth1
ip link set veth0 mtu 9000
check "rxe1 on a down veth created" rdma link add rxe1 type rxe netdev veth0
check "add() for rxe1 (created after load), port DOWN" \
	wait_for 10 dmesg_has 'ib_ipoib: rxe1 port 1: link layer Ethernet, state DOWN'
check "the log says rxe1 is not active yet" dmesg_has 'ib_ipoib: rxe1 port 1: not active yet'

check "rxe1 deleted" rdma link delete rxe1
check "remove() for rxe1" dmesg_has 'ib_ipoib: rxe1 port 1: detached \(Ethernet\)'
check "rxe0 not removed meanwhile" sh -c "! dmesg | sed -n '/ipoib-rs-selftest: start $TEST_ID\$/,\$p' | grep -q 'rxe0 port 1: detached'"

# Active MTU follows the underlay MTU (4096 at 9000).
ip link set veth1 up
ip link set veth0 up
check "rxe2 on an up veth with MTU 9000" rdma link add rxe2 type rxe netdev veth0
check "add() for rxe2: ACTIVE, active MTU 4096" \
	wait_for 10 dmesg_has 'ib_ipoib: rxe2 port 1: link layer Ethernet, state ACTIVE, active MTU 4096'
rdma link delete rxe2
ip link del veth0

# An iWARP device (soft-iWARP) has no UD transport: its port is skipped, and a device
# without a usable port is refused (EOPNOTSUPP from add(), as C), so no interface appears.
links_before=$(ls /sys/class/net | sort | tr '\n' ' ')
if modprobe siw; then
	check "siw0 on eth0 created" rdma link add siw0 type siw netdev eth0
	check "siw0's port skipped (no UD transport)" \
		wait_for 10 dmesg_has 'ib_ipoib: siw0 port 1: no UD transport, skipped'
	check_eq "no interface for siw0" "$links_before" "$(ls /sys/class/net | sort | tr '\n' ' ')"
	check "rxe0 unaffected" sh -c "! dmesg | sed -n '/ipoib-rs-selftest: start $TEST_ID\$/,\$p' | grep -q 'rxe0 port 1: detached'"
	rdma link delete siw0
	modprobe -r siw
else
	fail "siw (soft-iWARP) is not in the test kernel"
fi

check "ib_ipoib unloads" modprobe -r ib_ipoib
check "remove() for rxe0 at unload" dmesg_has 'ib_ipoib: rxe0 port 1: detached \(Ethernet\)'
check_eq "one add() per device" 3 "$(dmesg_count 'ib_ipoib: rxe[0-9] port 1: link layer')"
check_eq "one remove() per device" 3 "$(dmesg_count 'ib_ipoib: rxe[0-9] port 1: detached')"

rdma link delete rxe0
modprobe -r rdma_rxe
check "no leak (kmemleak)" kmemleak_check
finish
