#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# IPoIB stateless offloads on the software ConnectX-3 (IPOIB_CSUM, BLH and
# max_gso_sz, as a ConnectX-3 ships): the C ib_ipoib (the oracle), then ours,
# each in datagram mode with TX checksums, TSO (LSO WQEs the model cuts into
# segments) and verified receive checksums, as ethtool shows; connected mode
# turns the send offloads off and datagram mode back on. Two faults: an LSO WQE
# with MSS 0 completes in error (tx_errors) and the interface goes on; a bit
# flipped on the wire after the checksum is caught by the receiver's stack
# (TcpInCsumErrors), so the driver did not claim a checksum the HCA refused.
# timeout: 900
# mlx4_ib: both
# exercises: ours
. "$(dirname "$0")/../lib.sh"

P=/sys/module/mlx4_model/parameters
check "mlx4_ib and opensm up, both ports ACTIVE" model_start
check_eq "the model offers the offloads" 1 "$(cat $P/offloads)"
check "ibv_devinfo: UD_IP_CSUM" sh -c "ibv_devinfo -v -d mlx4_0 | grep -q UD_IP_CSUM"

# feature DEV NAME: ethtool's state of feature NAME on DEV in namespace a.
feature() { ip netns exec a ethtool -k "$1" | sed -n "s/^[[:space:]]*$2: \([a-z]*\).*/\1/p"; }
stat_of() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"; }
csum_errors() {
	echo $(( $(ip netns exec a nstat -asz TcpInCsumErrors | awk '/TcpInCsumErrors/ { print $2 }') +
		$(ip netns exec b nstat -asz TcpInCsumErrors | awk '/TcpInCsumErrors/ { print $2 }') ))
}
# iperf TAG SECONDS: TCP from a to b, the receiver's line kept in /tmp/iperf.TAG.
iperf() {
	pkill -x iperf3
	ip netns exec b iperf3 -s -1 -D || return 1
	sleep 1
	timeout 60 ip netns exec a iperf3 -c 10.9.0.2 -t "$2" >/tmp/iperf.$1 || return 1
	grep receiver /tmp/iperf.$1 | sed 's/^/#   /'
}
# inject N WHAT COMMAND...: arm fault N, run COMMAND until the model took it.
inject() {
	_n=$1 _what=$2
	shift 2
	echo "$_n" >$P/inject
	_end=$(($(date +%s) + 30))
	while [ "$(cat $P/inject)" != 0 ] && [ "$(date +%s)" -lt $_end ]; do
		"$@" >/dev/null 2>&1
	done
	[ "$(cat $P/inject)" = 0 ] || { echo 0 >$P/inject; echo "fault $_n ($_what) never taken"; return 1; }
}

for which in c ours; do
	echo "# --- the $which ib_ipoib"
	if [ $which = c ]; then
		check "modprobe ib_ipoib (the kernel's C driver)" modprobe ib_ipoib
		check "the loaded ib_ipoib is the C one" loaded_c ib_ipoib
	else
		modprobe ib_cm
		check "insmod our ib_ipoib" insmod "$REPO/ib_ipoib.ko"
		check "the loaded ib_ipoib is ours" loaded_ours ib_ipoib
	fi
	wait_for 10 test -e /sys/class/net/ib1 || fail "no ib1"
	check "ib0 and ib1 up in namespaces a and b" model_ipoib_netns
	check "ib0 carrier" wait_for 30 ip netns exec a sh -c "[ \$(cat /sys/class/net/ib0/carrier) = 1 ]"
	check "ib1 carrier" wait_for 30 ip netns exec b sh -c "[ \$(cat /sys/class/net/ib1/carrier) = 1 ]"
	for f in tx-checksum-ipv4 rx-checksumming tcp-segmentation-offload; do
		check_eq "$which: datagram mode: $f" on "$(feature ib0 $f)"
	done
	check "$which: ping (datagram)" pings -n a 3 10.9.0.2
	lso0=$(cat $P/lso_wqes) ok0=$(cat $P/csum_ok) err0=$(stat_of a ib0 tx_errors)
	check "$which: iperf3 (datagram, TSO)" iperf $which.dg 3
	lso1=$(cat $P/lso_wqes) ok1=$(cat $P/csum_ok)
	check "$which: the HCA cut large sends ($lso0 -> $lso1 LSO WQEs)" test $((lso1 - lso0)) -ge 10
	check "$which: receive checksums verified ($ok0 -> $ok1 CQEs)" test $((ok1 - ok0)) -ge 100
	check_eq "$which: no send error" "$err0" "$(stat_of a ib0 tx_errors)"

	# An LSO WQE with MSS 0: a local QP operation error; the QP recovers.
	warn0=$(dmesg | grep -c 'failed send event')
	check "$which: an LSO WQE with MSS 0 executed" inject 4 "LSO MSS 0" iperf $which.lso0 1
	if [ $which = c ]; then
		# C counts the failed send as sent and warns.
		check "$which: it completed in error (failed send event)" \
			wait_for 10 sh -c "[ \$(dmesg | grep -c 'failed send event') -gt $warn0 ]"
	else
		check "$which: it completed in error (tx_errors)" wait_for 10 \
			sh -c "[ \$(ip netns exec a cat /sys/class/net/ib0/statistics/tx_errors) -gt $err0 ]"
	fi
	check "$which: ping after the failed LSO" wait_for 20 pings -n a 2 10.9.0.2
	# A bit flipped on the wire: the receiving stack finds it, as the CQE said.
	ce0=$(csum_errors)
	check "$which: a TCP datagram corrupted on the wire" inject 5 "wire bit flip" iperf $which.flip 1
	ce1=$(csum_errors)
	check "$which: the stack dropped it (TcpInCsumErrors $ce0 -> $ce1)" test "$ce1" -gt "$ce0"
	check "$which: iperf3 after the faults" iperf $which.dg2 2

	check "$which: connected mode on both ends" sh -c \
		"ip -n a link set ib0 type ipoib mode connected && ip -n b link set ib1 type ipoib mode connected"
	check_eq "$which: connected mode: no TX checksum offload" off "$(feature ib0 tx-checksum-ipv4)"
	check_eq "$which: connected mode: no TSO" off "$(feature ib0 tcp-segmentation-offload)"
	check_eq "$which: connected mode: RX checksums stay" on "$(feature ib0 rx-checksumming)"
	lso0=$(cat $P/lso_wqes)
	check "$which: iperf3 (connected)" iperf $which.cm 2
	check_eq "$which: no LSO WQE in connected mode" "$lso0" "$(cat $P/lso_wqes)"
	check "$which: datagram mode again" sh -c \
		"ip -n a link set ib0 type ipoib mode datagram && ip -n b link set ib1 type ipoib mode datagram"
	check_eq "$which: datagram mode: TSO back" on "$(feature ib0 tcp-segmentation-offload)"
	# ethtool turns them off; then no LSO and no offloaded checksums.
	check "$which: ethtool -K ib0 tso off tx off" ip netns exec a ethtool -K ib0 tso off tx off
	check_eq "$which: TSO off" off "$(feature ib0 tcp-segmentation-offload)"
	lso0=$(cat $P/lso_wqes)
	check "$which: iperf3 without TSO" iperf $which.nolso 2
	check_eq "$which: no LSO WQE with TSO off" "$lso0" "$(cat $P/lso_wqes)"
	ip netns del a
	ip netns del b
	check "$which: ib_ipoib unloads" wait_for 20 rmmod ib_ipoib
done
check "opensm stops, modules unload" model_stop
check "no leak (kmemleak)" kmemleak_check
finish
