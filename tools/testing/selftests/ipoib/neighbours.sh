#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# 4096 distinct unicast destinations through one ib0 (four times its 1024
# address handles): vm a sends a datagram to each of 4096 static neighbours
# (fake peers with their own GIDs), every one is sent (least recently used
# address handles are evicted, none refused), the cache stays at its bound,
# evicted destinations are resolved again when sent to, and the real peer is
# reached throughout.
# timeout: 420
# exercises: ours
. "$(dirname "$0")/../lib.sh"
[ "$NVMS" = 2 ] || skip "needs two VMs"

check "set up rxe0 and ib0" setup_ipoib 9000
peer=$(peer)
barrier up || fail "peer not up"
N=4096
S=/sys/class/net/ib0/statistics
D=/sys/kernel/debug/ipoib/ib0_path

# neighbours: 10.200.HI.LO -> QPN 2 at the link-local GID of MAC 02:00:00:00:HI:LO.
neighbours() {
	python3 - "$N" <<'PY' | ip -batch -
import sys
n = int(sys.argv[1])
for i in range(n):
    hi, lo = i >> 8, i & 0xff
    addr = "00:00:00:02:fe:80:00:00:00:00:00:00:00:00:00:ff:fe:00:%02x:%02x" % (hi, lo)
    print(f"neigh replace 10.200.{hi}.{lo} lladdr {addr} dev ib0 nud permanent")
PY
}
# send FIRST COUNT: one UDP datagram to each of COUNT fake peers from FIRST.
send() {
	python3 - "$1" "$2" <<'PY'
import socket, sys
first, count = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(first, first + count):
    s.sendto(b"x" * 32, ("10.200.%d.%d" % (i >> 8, i & 0xff), 9))
PY
}
paths() { grep -c '^GID:' $D; }
# settled COUNT: the transmit counter grew by COUNT since $tx0 (every datagram sent).
settled() { [ $(($(cat $S/tx_packets) - tx0)) -ge "$1" ]; }

if [ "$VM_NAME" = a ]; then
	ip addr add 10.200.255.254/16 dev ib0
	check "$N static neighbours" neighbours
	drop0=$(cat $S/tx_dropped)
	tx0=$(cat $S/tx_packets)
	check "a datagram to each of the $N destinations" send 0 $N
	check "all $N sent" wait_for 120 settled $N
	echo "# sent $(($(cat $S/tx_packets) - tx0)), dropped $(($(cat $S/tx_dropped) - drop0))"
	check_eq "none dropped" 0 $(($(cat $S/tx_dropped) - drop0))
	n=$(paths)
	check "the address handle cache stays at its bound ($n unicast destinations, at most 1024)" \
		sh -c "[ $n -le 1024 ] && [ $n -ge 1000 ]"
	check "the earliest destinations were evicted" sh -c "! grep -q '^GID: fe80:0:0:0:0:ff:fe00:0\$' $D"
	tx0=$(cat $S/tx_packets)
	check "evicted destinations are resolved again" send 0 16
	check "all 16 sent" wait_for 30 settled 16
	check "and listed again" wait_for 10 grep -q '^GID: fe80:0:0:0:0:ff:fe00:0$' $D
	check_eq "still none dropped" 0 $(($(cat $S/tx_dropped) - drop0))
	check "the peer is reached" pings 3 "$(ib_ip4 "$peer")"
	ip neigh flush dev ib0 to 10.200.0.0/16 nud permanent
fi
barrier done
teardown_ipoib
check "no leak (kmemleak)" kmemleak_check
finish
