#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# SELFTEST_ROUNDS (default 100) `rdma link delete`/`add` cycles on vm a while
# vm b floods it with pings: each time ib0 goes away with rxe0 and comes back
# with the new device, gets carrier and answers; no splat, nothing leaked.
# timeout: 3600
# exercises: ours
. "$(dirname "$0")/../lib.sh"
[ "$NVMS" = 2 ] || skip "needs two VMs"

N=${SELFTEST_ROUNDS:-100}
check "set up rxe0 and ib0" setup_ipoib 9000
barrier up || fail "peer"
if [ "$VM_NAME" = b ]; then
	ping -q -i 0.01 -s 1000 "$(ib_ip4 a)" >/dev/null 2>&1 &
	fpid=$!
	get done 3000 >/dev/null
	kill $fpid
else
	cycles() {
		n=0
		while [ $n -lt "$N" ]; do
			rdma link delete rxe0 || { echo "delete failed at $n"; return 1; }
			wait_for 10 test ! -e /sys/class/net/ib0 || { echo "ib0 stayed at $n"; return 1; }
			rdma link add rxe0 type rxe netdev eth0 || { echo "add failed at $n"; return 1; }
			wait_for 10 test -e /sys/class/net/ib0 || { echo "no ib0 at $n"; return 1; }
			ip addr add "$(ib_ip4)/24" dev ib0
			ip link set ib0 up
			wait_for 20 sh -c '[ "$(cat /sys/class/net/ib0/carrier)" = 1 ]' ||
				{ echo "no carrier at $n"; return 1; }
			n=$((n + 1))
		done
	}
	t0=$(date +%s)
	check "$N rdma link delete/add cycles under a ping flood" cycles
	echo "# $N cycles in $(($(date +%s) - t0)) s"
	check "the peer is reached" pings 3 "$(ib_ip4 b)"
	put done 1
fi
barrier done 3000
teardown_ipoib
check "no leak (kmemleak)" kmemleak_check
finish
