#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Carrier follows the port: the underlay link going down raises PORT_ERR and
# ib0 loses its carrier; back up, PORT_ACTIVE brings the carrier back and
# traffic resumes. An interface brought up while the port is down stays
# without carrier until the port comes up. A send that fails (the underlay
# cannot route) puts the QP in the error state; the data path restarts.
# timeout: 240
# exercises: ours
. "$(dirname "$0")/../lib.sh"
[ "$NVMS" = 2 ] || skip "needs two VMs"

carrier() { [ "$(cat /sys/class/net/ib0/carrier 2>/dev/null)" = "$1" ]; }

check "set up" setup_ipoib 9000
barrier up || fail "peer"
if [ "$VM_NAME" = a ]; then
	check "ping before" pings 2 "$(ib_ip4 b)"
	ip link set eth0 down
	check "carrier off after the underlay goes down" wait_for 20 carrier 0
	check "port state DOWN" wait_for 10 sh -c "rdma link show rxe0/1 | grep -q 'state DOWN'"
	check "the carrier change is logged" dmesg_has "ib0: port 1 DOWN, carrier off"
	ip link set eth0 up
	check "carrier on after the underlay comes back" wait_for 30 carrier 1
	check "traffic resumes" wait_for 30 ping -c 1 -W 2 "$(ib_ip4 b)"
	check "then 3 of 3 pings answered" pings 3 "$(ib_ip4 b)"

	# Brought up while the port is down: no carrier until it comes up.
	ip link set ib0 down
	ip link set eth0 down
	wait_for 10 sh -c "rdma link show rxe0/1 | grep -q 'state DOWN'"
	ip link set ib0 up
	check "no carrier while the port is down" sh -c "sleep 2; [ \"\$(cat /sys/class/net/ib0/carrier)\" = 0 ]"
	ip link set eth0 up
	check "carrier once the port is up" wait_for 30 carrier 1
	check "traffic again" wait_for 30 ping -c 1 -W 2 "$(ib_ip4 b)"

	# Fault: soft-RoCE cannot route while the underlay has no IPv6, so sends fail and the
	# QP goes to the error state; the driver restarts its data path and traffic comes back
	# once the underlay can route again.
	sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
	ping -c 2 -W 1 "$(ib_ip4 b)" >/dev/null 2>&1
	check "the QP error is noticed and the data path restarted" wait_for 20 dmesg_has "ib0: QP in error state, restarting the data path"
	sysctl -qw net.ipv6.conf.eth0.disable_ipv6=0
	wait_for 20 sh -c "ip -6 addr show dev eth0 scope link | grep -q fe80 && ! ip -6 addr show dev eth0 | grep -q tentative"
	check "traffic after the fault" wait_for 60 ping -c 1 -W 2 "$(ib_ip4 b)"
	check "then 3 of 3 pings answered" pings 3 "$(ib_ip4 b)"
	check_eq "carrier after the fault" 1 "$(cat /sys/class/net/ib0/carrier)"
fi
barrier done 300
teardown_ipoib
check "no leak (kmemleak)" kmemleak_check
finish
