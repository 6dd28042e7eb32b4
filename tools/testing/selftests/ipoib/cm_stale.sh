#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Reaping of quiet connected-mode connections (C's stale task): vm b, in
# connected mode, connects to vm a, which stays in datagram mode and accepts.
# With the timeout shortened through debugfs (ipoib/cm_rx_timeout, 512 s by
# default), a connection that keeps receiving stays, a quiet one is torn down
# (vm a frees its connected-mode resources, vm b sees the DREQ), and the next
# packet connects again.
# timeout: 300
# exercises: ours
. "$(dirname "$0")/../lib.sh"
[ "$NVMS" = 2 ] || skip "needs two VMs"

S=/sys/class/net/ib0
KNOB=/sys/kernel/debug/ipoib/cm_rx_timeout
check "set up rxe0 and ib0" setup_ipoib 9000
peer=$(peer)
check_eq "debugfs knob defaults to C's 512 s" 512 "$(cat $KNOB)"
# The QP numbers of this node's RC QPs (ours: nothing else makes RC QPs here).
rc_qps() { rdma res show qp | awk '/type RC/ { for (i = 1; i < NF; i++) if ($i == "lqpn") print $(i + 1) }' | sort; }
no_rc_qp() { [ -z "$(rc_qps)" ]; }
check_eq "no RC QP before" "" "$(rc_qps)"

if [ "$VM_NAME" = a ]; then
	check "timeout set to 5 s" sh -c "echo 5 > $KNOB"
	check_eq "knob reads back" 5 "$(cat $KNOB)"
	check "echo 0 is taken (used as 1 s)" sh -c "echo 0 > $KNOB && echo 5 > $KNOB"
	barrier knob
	get connected 60 >/dev/null
	qp=$(rc_qps)
	check "vm b's connection accepted (one RC QP)" test "$(echo "$qp" | grep -c .)" = 1
	check "connected-mode resources allocated for it" \
		dmesg_has "ib0: connected-mode resources allocated"
	# Two scans (every 7.5 s), while vm b sends twice a second: with an SRQ, one
	# message in four notes the time (as C), so every 2 s.
	sleep 16
	check_eq "a connection receiving all along stays" "$qp" "$(rc_qps)"
	put kept 1
	check "the quiet connection is reaped" wait_for 30 no_rc_qp
	check "and the resources freed (datagram mode)" \
		wait_for 10 dmesg_has "ib0: connected-mode resources freed"
	# Back to 512 s, so that the next connection stays while it is looked at.
	echo 512 > $KNOB
	put reaped 1
	get reconnected 60 >/dev/null
	check "a new connection is accepted" test -n "$(rc_qps)"
else
	barrier knob
	check "mode connected" sh -c "echo connected > $S/mode"
	check "ping connects to vm a" pings 2 -s 2000 "$(ib_ip4 a)"
	# Never quiet for as long as the timeout until vm a has seen the connection stay.
	ping -i 0.5 -W 5 "$(ib_ip4 a)" >/tmp/busy.log 2>&1 &
	pid=$!
	qp=$(rc_qps)
	put connected 1
	get kept 60 >/dev/null
	kill -INT $pid
	wait $pid
	check "no ping lost meanwhile" grep -q ' 0% packet loss' /tmp/busy.log
	check "vm a's DREQ tears the connection down here too" wait_for 30 no_rc_qp
	get reaped 30 >/dev/null
	check "the next packet connects again" pings 3 -s 2000 "$(ib_ip4 a)"
	new_qp() { [ -n "$(rc_qps)" ] && [ "$(rc_qps)" != "$qp" ]; }
	check "over a new QP" new_qp
	put reconnected 1
fi
barrier done
check_eq "tx_errors" 0 "$(cat $S/statistics/tx_errors)"
check_eq "rx_errors" 0 "$(cat $S/statistics/rx_errors)"
teardown_ipoib
check "no leak (kmemleak)" kmemleak_check
finish
