#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# 2000 malformed datagrams from a userspace verbs peer (pyverbs on the other
# VM's rxe0) reach ib0's QP: too short for the IPoIB header (counted by the
# driver as rx_dropped and rx_errors), an EtherType no protocol takes (counted
# by the core as rx_dropped), IPv4 with a bogus length, truncated ARP
# (dropped by those protocols). No splat, and traffic still flows.
# timeout: 300
# exercises: ours
. "$(dirname "$0")/../lib.sh"
[ "$NVMS" = 2 ] || skip "needs two VMs"
python3 -c "import pyverbs" 2>/dev/null || skip "python3-pyverbs not installed"

N=500
stat() { cat "/sys/class/net/ib0/statistics/$1"; }

check "set up" setup_ipoib 9000
if [ "$VM_NAME" = b ]; then
	# QPN: bytes 1-3 of the hardware address; GID: bytes 4-19.
	addr=$(ib_lladdr)
	put qpn "0x$(echo "$addr" | cut -d: -f2-4 | tr -d :)"
	put gid "$(echo "$addr" | cut -d: -f5- | tr -d : | sed 's/\(....\)/\1:/g; s/:$//')"
	before="$(stat rx_dropped) $(stat rx_errors) $(stat rx_packets)"
fi
barrier ready || fail "peer"
if [ "$VM_NAME" = a ]; then
	out=$(python3 "$(dirname "$0")/inject.py" rxe0 "$(get gid)" "$(get qpn)" 0xb1b $N 2>&1)
	echo "# inject.py: $out"
	check_eq "datagrams sent" "short=$N ethertype=$N ipv4=$N arp=$N" "$out"
fi
barrier injected || fail "peer"
if [ "$VM_NAME" = b ]; then
	set -- $before
	# Let the receive side catch up with what the sender completed (ARP came last).
	wait_for 20 sh -c "[ \$((\$(cat /sys/class/net/ib0/statistics/rx_packets) - $3)) -ge $((3 * N)) ]"
	d_drop=$(($(stat rx_dropped) - $1))
	d_err=$(($(stat rx_errors) - $2))
	d_pkts=$(($(stat rx_packets) - $3))
	echo "# rx_dropped +$d_drop, rx_errors +$d_err, rx_packets +$d_pkts"
	# The driver drops the short ones (rx_dropped and rx_errors); the core drops those
	# with an EtherType nobody handles (rx_dropped); IP and ARP drop their own.
	check_eq "dropped: short (driver) + unknown EtherType (core)" $((2 * N)) "$d_drop"
	check_eq "short datagrams counted as rx_errors" $N "$d_err"
	check_eq "the others reached the stack" $((3 * N)) "$d_pkts"
fi
barrier checked || fail "peer"
check "traffic still flows" pings 3 "$(ib_ip4 "$(peer)")"
barrier done
teardown_ipoib
check "no leak (kmemleak)" kmemleak_check
finish
