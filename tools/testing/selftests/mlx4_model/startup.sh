#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Start-up, repeated: each round starts the software ConnectX-3 under the C
# mlx4_ib and a fresh opensm, loads our ib_ipoib right after both ports turn
# ACTIVE (while opensm may still be programming them), brings ib0 and ib1 up
# in two namespaces with IPv4 and IPv6 addresses (as rust_ipoib does) and
# requires unicast (ARP and an SA path), IPv6 (ND) and broadcast traffic at
# once, then unloads everything. SELFTEST_ROUNDS rounds
# (default 3; `make stress` runs 50).
# timeout: 900
# exercises: ours
. "$(dirname "$0")/../lib.sh"

rounds=${SELFTEST_ROUNDS:-3}
model_partitions
carrier() { [ "$(ip netns exec "$1" cat "/sys/class/net/$2/carrier" 2>/dev/null)" = 1 ]; }

# round N: one start-up; prints what failed.
round() {
	model_start || { echo "round $1: model_start failed"; return 1; }
	modprobe ib_cm
	insmod "$REPO/ib_ipoib.ko" || { echo "round $1: insmod failed"; return 1; }
	loaded_ours ib_ipoib || { echo "round $1: ib_ipoib is not ours"; return 1; }
	wait_for 10 test -e /sys/class/net/ib1 || { echo "round $1: no ib1"; return 1; }
	ok=1
	model_ipoib_netns || { echo "round $1: namespaces"; ok=0; }
	[ $ok = 0 ] || wait_for 30 carrier a ib0 || { echo "round $1: no carrier on ib0"; ok=0; }
	[ $ok = 0 ] || wait_for 30 carrier b ib1 || { echo "round $1: no carrier on ib1"; ok=0; }
	if [ $ok = 1 ]; then
		pings -n a 3 10.9.0.2 >/tmp/r.out || { echo "round $1: ib0 -> ib1 unicast"; ok=0; }
		pings -n b 3 10.9.0.1 >/tmp/r.out || { echo "round $1: ib1 -> ib0 unicast"; ok=0; }
		pings -n a 3 -6 fd00:9::2 >/tmp/r.out || { echo "round $1: ib0 -> ib1 IPv6"; ok=0; }
		mcast_pings -n a 3 10.9.0.2 -I ib0 224.0.0.1 >/tmp/r.out ||
			{ echo "round $1: ib0 -> 224.0.0.1"; ok=0; }
		mcast_pings -n b 3 10.9.0.1 -I ib1 224.0.0.1 >/tmp/r.out ||
			{ echo "round $1: ib1 -> 224.0.0.1"; ok=0; }
	fi
	[ $ok = 1 ] || model_ipoib_diag
	rmmod ib_ipoib || { echo "round $1: rmmod ib_ipoib failed"; ok=0; }
	ip netns del a
	ip netns del b
	model_stop || { echo "round $1: model_stop failed"; ok=0; }
	[ $ok = 1 ]
}

# (Not i: model_ipoib_diag's loop would overwrite it.)
round_no=1 failed=0
while [ $round_no -le "$rounds" ]; do
	if round $round_no >/tmp/round.out 2>&1; then
		echo "# round $round_no: ok"
	else
		failed=$((failed + 1))
		sed 's/^/#   /' /tmp/round.out
		echo "# round $round_no: FAILED"
	fi
	round_no=$((round_no + 1))
done
check_eq "start-up rounds that failed (of $rounds)" 0 "$failed"
check "no leak (kmemleak)" kmemleak_check
finish
