#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Path MTU in connected mode (C's ipoib_cm_skb_too_long): vm b, in connected
# mode at MTU 65520, reaches vm a through an address without the RC flag (a
# permanent neighbour entry), so its packets go as datagrams, which carry at
# most 4092 bytes at underlay MTU 9000. A longer packet is dropped and counted,
# and the sender gets ICMP "fragmentation needed" / ICMPv6 "packet too big"
# with 4092: the route learns the MTU and later packets are fragmented to fit.
# timeout: 240
# exercises: ours
. "$(dirname "$0")/../lib.sh"
[ "$NVMS" = 2 ] || skip "needs two VMs"

S=/sys/class/net/ib0
check "set up rxe0 and ib0 (underlay MTU 9000)" setup_ipoib 9000
if [ "$VM_NAME" = a ]; then
	put lladdr "$(cat $S/address)"
	get pmtu_done 180 >/dev/null
else
	a_ll=$(get lladdr 30)
	no_rc=00${a_ll#??}
	check "mode connected" sh -c "echo connected > $S/mode"
	check "a's address without the RC flag (permanent neighbour)" sh -c \
		"ip neigh replace $(ib_ip4 a) lladdr $no_rc dev ib0 nud permanent && ip -6 neigh replace $(ib_ip6 a) lladdr $no_rc dev ib0 nud permanent"
	check "ping -s 3000 goes as datagrams" pings 2 -s 3000 "$(ib_ip4 a)"
	e0=$(cat $S/statistics/tx_errors)
	d0=$(cat $S/statistics/tx_dropped)
	ping -c 1 -W 3 -M do -s 8000 "$(ib_ip4 a)" >/tmp/df.out 2>&1
	check "ping -M do -s 8000: fragmentation needed, mtu 4092" \
		grep -Eq "mtu ?= ?4092" /tmp/df.out
	check_eq "counted in tx_errors" $((e0 + 1)) "$(cat $S/statistics/tx_errors)"
	check_eq "and in tx_dropped" $((d0 + 1)) "$(cat $S/statistics/tx_dropped)"
	check "the route learned MTU 4092" sh -c "ip route get $(ib_ip4 a) | grep -q 'mtu 4092'"
	check "ping -s 8000 without DF now fragmented to fit" \
		pings 2 -M dont -s 8000 "$(ib_ip4 a)"
	ping -6 -c 1 -W 3 -s 8000 "$(ib_ip6 a)" >/tmp/v6.out 2>&1
	check "ping6 -s 8000: the route learned MTU 4092 (packet too big)" \
		sh -c "ip -6 route get $(ib_ip6 a) | grep -q 'mtu 4092'"
	check "then ping6 -s 8000 is fragmented to fit" \
		pings 2 -6 -s 8000 "$(ib_ip6 a)"
	ip neigh del "$(ib_ip4 a)" dev ib0
	ip -6 neigh del "$(ib_ip6 a)" dev ib0
	ip route flush cache
	ip -6 route flush cache
	check "mode datagram" sh -c "echo datagram > $S/mode"
	put pmtu_done 1
fi
barrier done
teardown_ipoib
check "no leak (kmemleak)" kmemleak_check
finish
