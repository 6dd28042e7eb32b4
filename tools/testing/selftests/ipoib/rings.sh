#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Ring sizes at run time (C can change them only by loading the module again):
# ethtool -g shows the module parameters' sizes and the device's maxima;
# ethtool -G rounds up as the module parameters do, remakes the UD QP (a new QP
# number, so a new hardware address, which the peer learns from the gratuitous
# ARP and unsolicited NA) while the interface runs or is down, in datagram and
# connected mode; requests above the maximum, mini and jumbo rings are refused
# and change nothing.
# timeout: 300
# exercises: ours
. "$(dirname "$0")/../lib.sh"
[ "$NVMS" = 2 ] || skip "needs two VMs"

check "set up rxe0 and ib0" setup_ipoib 9000
peer=$(peer)
# ring FIELD [SECTION]: a value of `ethtool -g ib0`, from the maxima
# ("Pre-set maximums") or the current sizes ("Current hardware settings").
ring() {
	ethtool -g ib0 | awk -v f="$1:" -v s="${2:-Current}" \
		'$1 == s || $1 == "Pre-set" && s == "Pre-set" { on = 1 } on && $1 == f { print $2; exit }'
}
qpn() { cut -d: -f2-4 /sys/class/net/ib0/address; }
ethtool -g ib0 | sed 's/^/#   /'
check_eq "ethtool -g: RX (recv_queue_size)" 256 "$(ring RX)"
check_eq "ethtool -g: TX (send_queue_size)" 128 "$(ring TX)"
check_eq "ethtool -g: RX maximum (IPOIB_MAX_QUEUE_SIZE within rxe's limits)" 8192 "$(ring RX Pre-set)"
check_eq "ethtool -g: TX maximum" 8192 "$(ring TX Pre-set)"

barrier up || fail "peer not up"
check "ping IPv4 to the peer" pings 3 "$(ib_ip4 "$peer")"
barrier pinged

if [ "$VM_NAME" = a ]; then
	old=$(qpn)
	check "ethtool -G ib0 rx 300 tx 200 (running)" ethtool -G ib0 rx 300 tx 200
	check_eq "RX rounded up to a power of two" 512 "$(ring RX)"
	check_eq "TX rounded up to a power of two" 256 "$(ring TX)"
	check "a new QP: the address's QPN changed (was $old, now $(qpn))" test "$(qpn)" != "$old"
	check "carrier back" wait_for 30 sh -c '[ "$(cat /sys/class/net/ib0/carrier)" = 1 ]'
	put lladdr "$(ib_lladdr)"
	# The peer still has the old address in its neighbour table until the
	# gratuitous ARP reaches it; its replies go nowhere before that.
	check_eq "the peer learned the new address" yes "$(get learned 40)"
	check "ping IPv4 to the peer after the resize" pings 5 -w 20 "$(ib_ip4 "$peer")"
	check "ping IPv6 to the peer after the resize" pings 3 -w 20 -6 "$(ib_ip6 "$peer")"
	check "ethtool -G rx 9000 (above the maximum): refused" sh -c "! ethtool -G ib0 rx 9000"
	check "ethtool -G rx-mini 8 (no mini ring): refused" sh -c "! ethtool -G ib0 rx-mini 8"
	check "ethtool -G rx-jumbo 8 (no jumbo ring): refused" sh -c "! ethtool -G ib0 rx-jumbo 8"
	check_eq "RX unchanged by the refused requests" 512 "$(ring RX)"
	check_eq "TX unchanged by the refused requests" 256 "$(ring TX)"
	check "ethtool -G with the same sizes: the QP stays" sh -c \
		"q=\$(cut -d: -f2-4 /sys/class/net/ib0/address); ethtool -G ib0 rx 512 tx 256; \
		[ \"\$(cut -d: -f2-4 /sys/class/net/ib0/address)\" = \"\$q\" ]"
	ip link set ib0 down
	check "ethtool -G ib0 rx 64 tx 128 while down" ethtool -G ib0 rx 64 tx 128
	check_eq "RX while down" 64 "$(ring RX)"
	ip link set ib0 up
	check "carrier after up" wait_for 30 sh -c '[ "$(cat /sys/class/net/ib0/carrier)" = 1 ]'
	put lladdr2 "$(ib_lladdr)"
	check "ping IPv4 to the peer with 64 receive buffers" pings 5 -w 20 "$(ib_ip4 "$peer")"
	# Connected mode takes its SRQ's size from the interface's RX ring.
	echo connected >/sys/class/net/ib0/mode
	ip link set ib0 mtu 65520
	check "ethtool -G ib0 rx 128 in connected mode" ethtool -G ib0 rx 128
	check "carrier in connected mode" wait_for 30 sh -c '[ "$(cat /sys/class/net/ib0/carrier)" = 1 ]'
	put lladdr3 "$(ib_lladdr)"
	check "ping IPv4 with a 20000-byte payload over a connection" \
		pings 3 -w 30 -s 20000 "$(ib_ip4 "$peer")"
	check_eq "tx_errors" 0 "$(cat /sys/class/net/ib0/statistics/tx_errors)"
	put done 1
else
	a_ll=$(get lladdr 120)
	if wait_for 20 sh -c "ip neigh show dev ib0 | grep -q '$(ib_ip4 "$peer") lladdr $a_ll'"; then
		echo "# ok the peer's new address is in the neighbour table (gratuitous ARP)"
		put learned yes
	else
		echo "# FAIL the peer's new address is not in the neighbour table after 20 s"
		ip neigh show dev ib0 | sed 's/^/#   /'
		FAILED=1
		put learned no
	fi
	get lladdr2 120 >/dev/null
	get lladdr3 120 >/dev/null
	get done 180 >/dev/null
fi
barrier done
check_eq "rx_errors" 0 "$(cat /sys/class/net/ib0/statistics/rx_errors)"
teardown_ipoib
check "no leak (kmemleak)" kmemleak_check
finish
