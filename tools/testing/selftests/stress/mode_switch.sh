#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# SELFTEST_ROUNDS (default 100) mode switches (datagram <-> connected, sysfs
# and netlink alternately) on vm a while TCP runs from a to b: TCP survives,
# traffic flows after the last switch, no splat, nothing leaked.
# timeout: 3600
# exercises: ours
. "$(dirname "$0")/../lib.sh"
[ "$NVMS" = 2 ] || skip "needs two VMs"

N=${SELFTEST_ROUNDS:-100}
S=/sys/class/net/ib0
check "set up rxe0 and ib0" setup_ipoib 9000
barrier up || fail "peer"
if [ "$VM_NAME" = b ]; then
	iperf3 -s -D -B "$(ib_ip4)" >/dev/null
	put iperf ready
	get done 3000 >/dev/null
	pkill iperf3
else
	get iperf 30 >/dev/null
	iperf3 -c "$(ib_ip4 b)" -t 3600 -i 0 >/tmp/tcp.out 2>&1 &
	ipid=$!
	switches() {
		n=0
		while [ $n -lt "$N" ]; do
			case $((n % 4)) in
			0) echo connected >$S/mode ;;
			1) echo datagram >$S/mode ;;
			2) ip link set ib0 type ipoib mode connected ;;
			3) ip link set ib0 type ipoib mode datagram ;;
			esac || { echo "switch $n failed"; return 1; }
			kill -0 $ipid || { echo "iperf3 died after $n switches"; return 1; }
			sleep 0.5
			n=$((n + 1))
		done
	}
	t0=$(date +%s)
	check "$N mode switches under TCP" switches
	echo "# $N switches in $(($(date +%s) - t0)) s"
	b0=$(cat $S/statistics/tx_bytes)
	sleep 3
	check "TCP still flows after the switches" test $(($(cat $S/statistics/tx_bytes) - b0)) -gt 100000
	kill $ipid
	wait $ipid 2>/dev/null
	echo datagram >$S/mode
	check "ping after the switches" pings 3 "$(ib_ip4 b)"
	put done 1
fi
barrier done 3000
teardown_ipoib
check "no leak (kmemleak)" kmemleak_check
finish
