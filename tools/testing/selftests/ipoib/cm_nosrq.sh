#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Connected mode without an SRQ (C's max_nonsrq_conn_qp mode), as on a device
# that has none: debugfs ipoib/cm_no_srq makes both VMs give every passive
# connection a receive ring of its own. Ping with 60000-byte datagrams and TCP
# over the connections, the memory a connection takes, and the limit on
# passive connections (max_nonsrq_conn_qp=1 on vm a): a second peer (a child
# of vm b's ib0) is rejected until the first disconnects.
# timeout: 420
# exercises: ours
. "$(dirname "$0")/../lib.sh"
[ "$NVMS" = 2 ] || skip "needs two VMs"

S=/sys/class/net/ib0
KNOB=/sys/kernel/debug/ipoib/cm_no_srq
IPOIB_PARAMS="max_nonsrq_conn_qp=1"
check "set up rxe0 and ib0 (ib_ipoib max_nonsrq_conn_qp=1)" setup_ipoib 9000
peer=$(peer)
avail() { sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
check_eq "max_nonsrq_conn_qp" 1 "$(cat /sys/module/ib_ipoib/parameters/max_nonsrq_conn_qp)"
check_eq "cm_no_srq defaults to 0" 0 "$(cat $KNOB)"
check "no SRQ for connected mode from now on" sh -c "echo 1 > $KNOB"
check "hardware address carries the RC flag (80)" sh -c "cut -d: -f1 $S/address | grep -qx 80"
m0=$(avail)
check "mode connected" sh -c "echo connected > $S/mode"
check "resources allocated without an SRQ" \
	dmesg_has "ib0: connected-mode resources allocated \(no SRQ"
echo "# memory taken by entering connected mode without SRQ (MemAvailable, debug kernel): $((m0 - $(avail))) KiB"
check_eq "MTU 65520" 65520 "$(cat $S/mtu)"
barrier cm_up
m1=$(avail)
check "ping -s 60000 over the connections" pings 3 -s 60000 "$(ib_ip4 "$peer")"
check "ping6 -s 30000" pings 3 -6 -s 30000 "$(ib_ip6 "$peer")"
barrier pinged
echo "# memory taken by one connection each way (MemAvailable, debug kernel): $((m1 - $(avail))) KiB"

if [ "$VM_NAME" = b ]; then
	iperf3 -s -D -1 -B "$(ib_ip4)" >/dev/null
	put iperf ready
	get tcp_done 120 >/dev/null
else
	get iperf 30 >/dev/null
	check "iperf3 TCP for 10 s without SRQ" \
		sh -c "iperf3 -c $(ib_ip4 b) -t 10 -J > /tmp/tcp.json"
	echo "# TCP (connected mode without SRQ, MTU 65520): $(python3 -c "import json;d=json.load(open('/tmp/tcp.json'));print(round(d['end']['sum_received']['bits_per_second']/1e6,1),'Mbit/s')" 2>/dev/null)"
	put tcp_done 1
fi
barrier traffic
check_eq "tx_errors" 0 "$(cat $S/statistics/tx_errors)"
check_eq "rx_errors" 0 "$(cat $S/statistics/rx_errors)"

# The limit: vm b's child ibc (same P_Key, its own QPN) is a second peer of
# vm a's ib0, which already holds its one connection without SRQ (from b's ib0).
T=/sys/kernel/tracing
if [ "$VM_NAME" = b ]; then
	get trace_on 60 >/dev/null
	sysctl -qw net.ipv4.conf.all.arp_ignore=1
	ip link add link ib0 name ibc type ipoib mode connected
	ip addr add "$IB_NET4.3/24" dev ibc
	ip link set ibc up
	check "child ibc up" wait_for 20 sh -c '[ "$(cat /sys/class/net/ibc/carrier)" = 1 ]'
	check "ibc's connection to vm a is rejected (limit 1 reached there)" \
		sh -c "! ping -I ibc -c 3 -W 2 $(ib_ip4 a)"
	check "ib0 still reaches vm a" pings 2 "$(ib_ip4 a)"
	# Datagram mode tears ib0's connection down (DREQ): vm a's slot frees.
	check "ib0 to datagram mode" sh -c "echo datagram > $S/mode"
	check "then ibc connects" wait_for 30 ping -I ibc -c 1 -W 2 "$(ib_ip4 a)"
	check "ping -s 60000 from ibc" pings 2 -I ibc -s 60000 "$(ib_ip4 a)"
	ip link del ibc
	sysctl -qw net.ipv4.conf.all.arp_ignore=0
	put limit_done 1
else
	# The REJs vm a's CM sends and their reasons (ib_cm's icm_send_rej tracepoint).
	mountpoint -q $T || mount -t tracefs tracefs $T
	: >$T/trace
	echo 1 >$T/events/ib_cma/icm_send_rej/enable
	put trace_on 1
	get limit_done 120 >/dev/null
	echo 0 >$T/events/ib_cma/icm_send_rej/enable
	grep icm_send_rej $T/trace | sed 's/^/#   /'
	check "the connection over the limit was rejected with reason NO_QP" \
		grep -q 'icm_send_rej:.*reason=REJ_NO_QP' $T/trace
fi
barrier done
echo 0 > $KNOB
teardown_ipoib
check "no leak (kmemleak)" kmemleak_check
finish
