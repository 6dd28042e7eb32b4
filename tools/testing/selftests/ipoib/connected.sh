#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Connected mode (RFC 4755) between the two VMs over soft-RoCE: mode switching
# by sysfs and by netlink with the C driver's MTU changes, MTU bounds, ping
# with 60000-byte datagrams and TCP over RC connections, the connected-mode
# resources allocated on entry and freed on leaving, and datagram mode again.
# timeout: 420
# exercises: ours
. "$(dirname "$0")/../lib.sh"
[ "$NVMS" = 2 ] || skip "needs two VMs"

S=/sys/class/net/ib0
check "set up rxe0 and ib0 (underlay MTU 9000)" setup_ipoib 9000
peer=$(peer)
sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=0
check "hardware address carries the RC flag (80)" sh -c "cut -d: -f1 $S/address | grep -qx 80"
avail() { sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
m0=$(avail)
check "mode: 'connected' accepted" sh -c "echo connected > $S/mode"
echo "# memory taken by entering connected mode (MemAvailable, debug kernel): $((m0 - $(avail))) KiB"
check_eq "mode reads connected" connected "$(cat $S/mode)"
check_eq "MTU set to connected mode's largest" 65520 "$(cat $S/mtu)"
check "resources allocated on entering connected mode" \
	dmesg_has "ib0: connected-mode resources allocated"
check "ip -d link: mode connected" sh -c "ip -d link show ib0 | grep -q 'mode  *connected'"
check "MTU 65521 refused" sh -c "! ip link set ib0 mtu 65521 2>/dev/null"
check "MTU 8000 accepted (above the datagram MTU)" ip link set ib0 mtu 8000
check "MTU 65520 accepted again" ip link set ib0 mtu 65520
check "mode: 'connected' again does nothing" sh -c "echo connected > $S/mode"

barrier cm_up || fail "peer not up"
check "ping over a connection" pings 3 "$(ib_ip4 "$peer")"
check "ping -s 60000 (one 60 KB datagram per RC message)" \
	pings 3 -s 60000 "$(ib_ip4 "$peer")"
check "ping6 -s 30000" pings 3 -6 -s 30000 "$(ib_ip6 "$peer")"
barrier pinged

if [ "$VM_NAME" = b ]; then
	iperf3 -s -D -1 -B "$(ib_ip4)" >/dev/null
	put iperf ready
	get tcp_done 120 >/dev/null
else
	get iperf 30 >/dev/null
	check "iperf3 TCP for 10 s in connected mode" \
		sh -c "iperf3 -c $(ib_ip4 b) -t 10 -J > /tmp/tcp.json"
	echo "# TCP (connected mode, MTU 65520): $(python3 -c "import json;d=json.load(open('/tmp/tcp.json'));print(round(d['end']['sum_received']['bits_per_second']/1e6,1),'Mbit/s, retransmits',d['end']['sum_sent'].get('retransmits'))" 2>/dev/null)"
	put tcp_done 1
fi
barrier traffic
check_eq "tx_errors" 0 "$(cat $S/statistics/tx_errors)"
check_eq "rx_errors" 0 "$(cat $S/statistics/rx_errors)"
check "multicast still works (datagrams): ping 224.0.0.1" \
	mcast_pings 3 "$(ib_ip4 "$peer")" -I ib0 224.0.0.1
barrier mcast

check "mode: 'datagram' accepted" sh -c "echo datagram > $S/mode"
check_eq "mode reads datagram" datagram "$(cat $S/mode)"
check_eq "MTU back to the datagram MTU" 4092 "$(cat $S/mtu)"
barrier dgram
check "ping in datagram mode again" pings 3 "$(ib_ip4 "$peer")"
check "ping -s 8000 in datagram mode (fragmented)" pings 2 -s 8000 "$(ib_ip4 "$peer")"
barrier dgram_pinged
check "resources freed on leaving connected mode" \
	wait_for 20 dmesg_has "ib0: connected-mode resources freed"

check "ip link set type ipoib mode connected" ip link set ib0 type ipoib mode connected
check_eq "mode reads connected (netlink)" connected "$(cat $S/mode)"
check_eq "MTU 65520 (netlink)" 65520 "$(cat $S/mtu)"
barrier nl_cm
check "ping over a connection after netlink switch" pings 3 -s 20000 "$(ib_ip4 "$peer")"
barrier nl_pinged

# Switching mode under load: vm a flips datagram/connected while TCP runs to b.
if [ "$VM_NAME" = b ]; then
	iperf3 -s -D -1 -B "$(ib_ip4)" >/dev/null
	put iperf_sw ready
	get switch_done 120 >/dev/null
else
	get iperf_sw 30 >/dev/null
	iperf3 -c "$(ib_ip4 b)" -t 16 -J >/tmp/sw.json 2>&1 &
	ipid=$!
	sleep 4
	check "to datagram under load" ip link set ib0 type ipoib mode datagram
	sleep 4
	check "to connected under load" sh -c "echo connected > $S/mode"
	sleep 4
	check "to datagram under load, again" sh -c "echo datagram > $S/mode"
	check "iperf3 TCP survived the switches" wait $ipid
	echo "# TCP across mode switches: $(python3 -c "import json;d=json.load(open('/tmp/sw.json'));print(round(d['end']['sum_received']['bits_per_second']/1e6,1),'Mbit/s')" 2>/dev/null)"
	check "ping after the switches" pings 3 "$(ib_ip4 b)"
	put switch_done 1
fi
barrier switched
check "ip link set type ipoib mode datagram" ip link set ib0 type ipoib mode datagram
check_eq "mode reads datagram (netlink)" datagram "$(cat $S/mode)"
barrier done

# What one more interface takes in datagram mode: a same-P_Key child brought up.
m0=$(avail)
ip link add link ib0 name ibm type ipoib && ip link set ibm up
echo "# memory taken by one more interface up in datagram mode (MemAvailable, debug kernel): $((m0 - $(avail))) KiB"
ip link del ibm

teardown_ipoib
check "no leak (kmemleak)" kmemleak_check
finish
