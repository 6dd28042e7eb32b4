#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Module parameters: names, types, permissions, defaults and the C driver's
# rounding and clamping, as modinfo and /sys/module/ib_ipoib/parameters show.
# timeout: 180
# exercises: ours
. "$(dirname "$0")/../lib.sh"

P=/sys/module/ib_ipoib/parameters

check "modprobe resolves ib_ipoib to ours" is_ours ib_ipoib

info=$(modinfo ib_ipoib)
echo "$info" | sed 's/^/#   /'
for p in send_queue_size recv_queue_size max_nonsrq_conn_qp debug_level \
	mcast_debug_level data_debug_level cm_data_debug_level; do
	check "modinfo lists parm $p (int)" sh -c "echo '$info' | grep -q '^parm: *$p:.*(int)\$'"
done
check_eq "modinfo description" "IP-over-InfiniBand net driver" "$(modinfo -F description ib_ipoib)"
check "modinfo depends on ib_core" sh -c "modinfo -F depends ib_ipoib | tr , '\n' | grep -qx ib_core"
check_eq "modinfo name" ib_ipoib "$(modinfo -F name ib_ipoib)"

# params EXPECTED_SEND EXPECTED_RECV EXPECTED_CONN [MODPROBE ARGS]
params() {
	es=$1 er=$2 ec=$3
	shift 3
	if ! modprobe ib_ipoib "$@"; then
		fail "modprobe ib_ipoib $*"
		return
	fi
	check_eq "send_queue_size after '$*'" "$es" "$(cat $P/send_queue_size)"
	check_eq "recv_queue_size after '$*'" "$er" "$(cat $P/recv_queue_size)"
	check_eq "max_nonsrq_conn_qp after '$*'" "$ec" "$(cat $P/max_nonsrq_conn_qp)"
	modprobe -r ib_ipoib
}

params 128 256 128
params 128 512 4096 send_queue_size=1 recv_queue_size=300 max_nonsrq_conn_qp=99999
params 8192 2 0 send_queue_size=20000 recv_queue_size=0 max_nonsrq_conn_qp=-1
params 256 8192 7 send_queue_size=129 recv_queue_size=5000 max_nonsrq_conn_qp=7

# roce_qkey (ours only): a Q_Key with the controlled bit (an int parameter: negative) cannot be used and
# reads back as the default.
for kv in "-:2843" "roce_qkey=0x1234:4660" "roce_qkey=-2147483647:2843" "roce_qkey=-5:2843"; do
	arg=${kv%%:*} want=${kv#*:}
	[ "$arg" = - ] && arg=
	if modprobe ib_ipoib $arg; then
		check_eq "roce_qkey after '${arg:-no parameter}'" "$want" "$(cat $P/roce_qkey)"
		modprobe -r ib_ipoib
	else
		fail "modprobe ib_ipoib $arg"
	fi
done

modprobe ib_ipoib
check "the loaded ib_ipoib is ours" loaded_ours ib_ipoib
for p in send_queue_size recv_queue_size max_nonsrq_conn_qp; do
	check_eq "$p is read-only" 444 "$(stat -c %a $P/$p)"
done
for p in debug_level mcast_debug_level data_debug_level cm_data_debug_level; do
	check_eq "$p is writable" 644 "$(stat -c %a $P/$p)"
	check_eq "$p default" 0 "$(cat $P/$p)"
	echo 3 >$P/$p
	check_eq "$p after writing 3" 3 "$(cat $P/$p)"
	if echo bogus >$P/$p 2>/dev/null; then
		fail "$p accepted 'bogus'"
	else
		echo "# ok $p rejects 'bogus'"
	fi
	check_eq "$p unchanged after a bad write" 3 "$(cat $P/$p)"
	echo 0 >$P/$p
done
modprobe -r ib_ipoib

if modprobe ib_ipoib recv_queue_size=abc 2>/dev/null; then
	fail "recv_queue_size=abc was accepted"
	modprobe -r ib_ipoib
else
	echo "# ok recv_queue_size=abc is refused"
fi
check "module not left loaded after a refused parameter" test ! -d /sys/module/ib_ipoib
check "the refusal is logged" dmesg_has "invalid for parameter .recv_queue_size"
finish
