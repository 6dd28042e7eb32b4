#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The port's GID changes under a running interface (on RoCE: the underlay's
# MAC changes, so soft-RoCE's default GID 0 does): as C, the hardware address
# takes the new GID 0 once the old GID has left the table; the peer reaches
# it at its new address, and back. Then the old MAC returns (module unloaded).
#
# The RDMA core deletes the old default GID and adds the new one at once,
# while address handles still hold the old entry, so the add fails (ENOSPC)
# and GID 0 stays empty: the driver lets the old GID go, and the next link
# up (as after any MAC change done with the link down) adds the new GID 0.
# timeout: 240
# exercises: ours
. "$(dirname "$0")/../lib.sh"
[ "$NVMS" = 2 ] || skip "needs two VMs"

S=/sys/class/net/ib0
check "set up rxe0 and ib0 (underlay MTU 9000)" setup_ipoib 9000
peer=$(peer)
old_mac=$(cat /sys/class/net/eth0/address)
old_addr=$(cat $S/address)
barrier up || fail "peer not up"
check "ping before" pings 2 "$(ib_ip4 "$peer")"
barrier pinged

gid_of() { cut -d: -f5- "$S/address"; }
if [ "$VM_NAME" = b ]; then
	check "underlay MAC changed" ip link set eth0 address 52:54:00:12:34:99
	check "the old GID is let go" wait_for 20 dmesg_has \
		"ib0: port GID fe80:0:0:0:5054:ff:fe12:3402 left the table"
	ip link set eth0 down
	ip link set eth0 up
	check "hardware address follows GID 0 (fe80::5054:ff:fe12:3499)" wait_for 20 \
		sh -c "[ \"\$(cut -d: -f5- $S/address)\" = 'fe:80:00:00:00:00:00:00:50:54:00:ff:fe:12:34:99' ]"
	check_eq "flags and QPN unchanged" "$(echo "$old_addr" | cut -d: -f1-4)" "$(cut -d: -f1-4 $S/address)"
	check "the change is logged" dmesg_has "ib0: port GID changed, hardware address now uses fe80:0:0:0:5054:ff:fe12:3499"
	put newaddr "$(cat $S/address)"
fi
barrier changed
if [ "$VM_NAME" = a ]; then
	new=$(get newaddr)
	ip neigh flush dev ib0
	wait_for 20 sh -c '[ "$(cat /sys/class/net/ib0/carrier)" = 1 ]'
	check "ping the peer at its new address" pings 3 "$(ib_ip4 "$peer")"
	check "the neighbour entry holds the new address" \
		sh -c "ip neigh show dev ib0 | grep -q 'lladdr $new'"
fi
barrier reached
if [ "$VM_NAME" = b ]; then
	ip neigh flush dev ib0
	wait_for 20 sh -c '[ "$(cat /sys/class/net/ib0/carrier)" = 1 ]'
	check "ping back from the new address" pings 3 "$(ib_ip4 "$peer")"
fi
barrier restored
# The old MAC back with ib_ipoib unloaded (nothing of it holds a GID then).
check "unload ib_ipoib" timeout 90 modprobe -r ib_ipoib
if [ "$VM_NAME" = b ]; then
	ip link set eth0 address "$old_mac"
	ip link set eth0 down
	ip link set eth0 up
	for i in 0 1 2 3; do
		echo "# rxe0 GID $i: $(cat /sys/class/infiniband/rxe0/ports/1/gids/$i 2>/dev/null) $(cat /sys/class/infiniband/rxe0/ports/1/gid_attrs/types/$i 2>/dev/null)"
	done
fi
barrier done
teardown_ipoib
check "no leak (kmemleak)" kmemleak_check
finish
