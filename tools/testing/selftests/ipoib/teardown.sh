#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Teardown under traffic: `rdma link delete` while the peer floods ib0 removes
# ib0 cleanly; so does unloading ib_ipoib under traffic; no splat, no leak.
# timeout: 240
# exercises: ours
. "$(dirname "$0")/../lib.sh"
[ "$NVMS" = 2 ] || skip "needs two VMs"

flood() { # flood SECONDS: ping the peer as fast as TCG allows
	timeout "$1" ping -q -i 0.002 -s 1000 "$(ib_ip4 "$(peer)")" >/dev/null 2>&1
}

for how in "rdma link delete" "modprobe -r"; do
	check "set up ($how)" setup_ipoib 9000
	barrier "up-$how" || fail "peer"
	if [ "$VM_NAME" = a ]; then
		flood 12 &
		fpid=$!
		sleep 4
		check "$how under traffic" sh -c "if [ '$how' = 'rdma link delete' ]; then rdma link delete rxe0; else modprobe -r ib_ipoib; fi"
		check "ib0 is gone" wait_for 10 test ! -e /sys/class/net/ib0
		wait $fpid
	else
		flood 12
	fi
	barrier "down-$how" || fail "peer"
	teardown_ipoib
done
check "no leak (kmemleak)" kmemleak_check
finish
