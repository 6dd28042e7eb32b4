#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# P_Key children created and deleted SELFTEST_ROUNDS times (default 1000) each
# way, through sysfs (create_child/delete_child) and through netlink (ip link
# add/del), on one VM: every round leaves the links as they were, and at the
# end no netdev is left behind and nothing leaked.
# timeout: 3600
# exercises: ours
. "$(dirname "$0")/../lib.sh"

N=${SELFTEST_ROUNDS:-1000}
S=/sys/class/net/ib0
links() { ip -br link | awk '{print $1}' | sort | tr '\n' ' '; }

base=$(links)
check "set up rxe0 and ib0" setup_ipoib 9000
before=$(links)
sysfs_cycles() {
	n=0
	while [ $n -lt "$N" ]; do
		echo 0x8010 >$S/create_child || { echo "create_child failed at $n"; return 1; }
		[ -e /sys/class/net/ib0.8010 ] || { echo "no ib0.8010 at $n"; return 1; }
		echo 0x8010 >$S/delete_child || { echo "delete_child failed at $n"; return 1; }
		n=$((n + 1))
	done
}
netlink_cycles() {
	n=0
	while [ $n -lt "$N" ]; do
		ip link add link ib0 name c$n type ipoib pkey 0x8011 || { echo "add failed at $n"; return 1; }
		ip link set c$n up || { echo "up failed at $n"; return 1; }
		ip link del c$n || { echo "del failed at $n"; return 1; }
		n=$((n + 1))
	done
}
t0=$(date +%s)
check "$N sysfs create/delete cycles" sysfs_cycles
t1=$(date +%s)
check "$N netlink add/up/del cycles" netlink_cycles
t2=$(date +%s)
echo "# sysfs: $N cycles in $((t1 - t0)) s; netlink: $N cycles in $((t2 - t1)) s"
check_eq "links as before" "$before" "$(links)"
check "no debugfs files left by the children" sh -c \
	"! ls /sys/kernel/debug/ipoib | grep -Eq '^(ib0\.8010|c[0-9]+)_'"
teardown_ipoib
check_eq "no netdev left behind" "$base" "$(links)"
check "no leak (kmemleak)" kmemleak_check
finish
