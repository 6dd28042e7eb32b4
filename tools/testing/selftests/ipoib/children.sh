#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The C driver's sysfs and netlink ABI for an interface and its P_Key
# children: mode/pkey/umcast files, `ip -d link` details, create_child and
# delete_child with every error case (state unchanged after each), netlink
# children (`ip link add ... type ipoib`) with their errors, a same-P_Key
# child moved into a network namespace carrying ping to the peer's, parent
# up/down taking its children along, create/delete cycles without leaks, and
# module unload with children present.
# timeout: 600
# exercises: ours
. "$(dirname "$0")/../lib.sh"
[ "$NVMS" = 2 ] || skip "needs two VMs"

check "set up rxe0 and ib0 (underlay MTU 9000)" setup_ipoib 9000
S=/sys/class/net/ib0

# write FILE VALUE: echo VALUE into FILE, printing the error message on failure
# (coreutils' echo: dash's builtin reports every failed write as an I/O error).
write() {
	/bin/echo "$2" 2>&1 >"$1"
}
# write_err FILE VALUE EXPECTED_MESSAGE: the write fails with that message.
write_err() {
	msg=$(write "$1" "$2")
	case "$msg" in
	*"$3"*) return 0 ;;
	*) echo "got: '$msg'"; return 1 ;;
	esac
}
# fails_with MESSAGE COMMAND...: COMMAND fails, says MESSAGE, and left no link "x".
fails_with() {
	_want=$1
	shift
	if _msg=$("$@" 2>&1); then
		echo "succeeded: $*"
		return 1
	fi
	echo "$_msg"
	case "$_msg" in
	*"$_want"*) ;;
	*) echo "expected '$_want'"; return 1 ;;
	esac
	! test -e /sys/class/net/x
}
links() { ip -br link | awk '{print $1}' | sort | tr '\n' ' '; }

# --- sysfs files of the parent ---
check_eq "mode" datagram "$(cat $S/mode)"
check_eq "pkey" 0xffff "$(cat $S/pkey)"
check_eq "umcast" 0 "$(cat $S/umcast)"
check "create_child and delete_child are write-only" \
	sh -c "[ \"\$(stat -c %a $S/create_child)\" = 200 ] && [ \"\$(stat -c %a $S/delete_child)\" = 200 ]"
check "no parent file on the parent" test ! -e $S/parent
check "mode: 'datagram' (current mode) accepted" write $S/mode datagram
check "mode: 'foo' is EINVAL" write_err $S/mode foo "Invalid argument"
check "mode: 'datagram' without newline is EINVAL" \
	sh -c "! printf datagram > $S/mode"
check "mode: 'connected' without newline is EINVAL" \
	sh -c "! printf connected > $S/mode"
check_eq "mode unchanged" datagram "$(cat $S/mode)"
check "mode: 'connected' accepted (RC flag set)" write $S/mode connected
check_eq "mode reads connected" connected "$(cat $S/mode)"
check "mode: back to 'datagram'" write $S/mode datagram
check "umcast: 1" write $S/umcast 1
check_eq "umcast reads 1" 1 "$(cat $S/umcast)"
check "umcast warning logged" dmesg_has "ib0: ignoring multicast groups joined directly by userspace"
check "umcast: junk reads as 0" write $S/umcast junk
check_eq "umcast reads 0" 0 "$(cat $S/umcast)"

# --- netlink view and changes of the parent ---
d=$(ip -d link show ib0)
echo "$d" | sed 's/^/#   /'
check "ip -d link: ipoib pkey 0xffff mode datagram umcast 0000" \
	sh -c "echo '$d' | grep -q 'ipoib pkey  *0xffff mode  *datagram umcast  *0000'"
check "ip link set type ipoib umcast 1" ip link set ib0 type ipoib umcast 1
check_eq "umcast file follows netlink" 1 "$(cat $S/umcast)"
check "ip link set type ipoib umcast 0" ip link set ib0 type ipoib umcast 0
check "ip link set type ipoib mode datagram" ip link set ib0 type ipoib mode datagram
check "ip link set type ipoib mode connected, then datagram" sh -c \
	"ip link set ib0 type ipoib mode connected && grep -qx connected $S/mode && ip link set ib0 type ipoib mode datagram && grep -qx datagram $S/mode"
check "ip link del ib0 does nothing" sh -c "ip link del ib0; test -e $S"
check "module alias for netlink autoload" sh -c "modinfo -F alias ib_ipoib | grep -qx rtnl-link-ipoib"

# --- ethtool statistics and coalescing, as C ---
names=$(ethtool -S ib0 | sed -n 's/^ *\([a-z_]*\): [0-9]*$/\1/p' | tr '\n' ' ')
check_eq "ethtool -S: C's eight statistics" \
	"rx_packets tx_packets rx_bytes tx_bytes tx_errors rx_dropped tx_dropped multicast " "$names"
check "ethtool -C rx-usecs 16 rx-frames 32 (stored although rxe cannot moderate)" \
	ethtool -C ib0 rx-usecs 16 rx-frames 32
check_eq "ethtool -c rx-usecs" 16 "$(ethtool -c ib0 | sed -n 's/^rx-usecs: *//p')"
check_eq "ethtool -c rx-frames" 32 "$(ethtool -c ib0 | sed -n 's/^rx-frames: *//p')"
check "ethtool -C rx-usecs 70000: EINVAL" sh -c "! ethtool -C ib0 rx-usecs 70000"
check "ethtool -C tx-usecs 5: not supported" sh -c "! ethtool -C ib0 tx-usecs 5"
check_eq "values unchanged after the errors" 16 "$(ethtool -c ib0 | sed -n 's/^rx-usecs: *//p')"
# Features as C sets them on a device without UD checksum offload (rxe):
# scattered sends (the QP gathers), no VLANs, high DMA; none changeable.
feat() { ethtool -k ib0 | sed -n "s/^[[:space:]]*$1: //p"; }
check_eq "ethtool -k tx-scatter-gather" "on [fixed]" "$(feat tx-scatter-gather)"
check_eq "ethtool -k generic-segmentation-offload" "on" "$(feat generic-segmentation-offload)"
check_eq "ethtool -k vlan-challenged" "on [fixed]" "$(feat vlan-challenged)"
check_eq "ethtool -k highdma" "on [fixed]" "$(feat highdma)"
check_eq "ethtool -k tx-checksum-ipv4" "off [fixed]" "$(feat tx-checksum-ipv4)"
check_eq "ethtool -k tx-tcp-segmentation" "off [fixed]" "$(feat tx-tcp-segmentation)"
ethtool -K ib0 sg off >/dev/null 2>&1
check_eq "ethtool -K sg off changes nothing" "on [fixed]" "$(feat tx-scatter-gather)"

# --- legacy children ---
before=$(links)
check "create_child 0x8001" write $S/create_child 0x8001
C=/sys/class/net/ib0.8001
check "ib0.8001 exists" test -e $C
check "debugfs files of the sysfs child" sh -c \
	"test -e /sys/kernel/debug/ipoib/ib0.8001_mcg && test -e /sys/kernel/debug/ipoib/ib0.8001_path"
check_eq "child pkey" 0x8001 "$(cat $C/pkey)"
check_eq "child parent" ib0 "$(cat $C/parent)"
check_eq "child mode" datagram "$(cat $C/mode)"
check_eq "child umcast" 0 "$(cat $C/umcast)"
check "child has no create_child" test ! -e $C/create_child
check_eq "child type" 32 "$(cat $C/type)"
check_eq "child dev_port (the parent's port)" 0 "$(cat $C/dev_port)"
check "child address: own QPN, the parent's GID" sh -c \
	"[ \"\$(cut -d: -f5- $C/address)\" = \"\$(cut -d: -f5- $S/address)\" ] && [ \"\$(cut -d: -f2-4 $C/address)\" != \"\$(cut -d: -f2-4 $S/address)\" ]"
check "child broadcast carries P_Key 0x8001" \
	sh -c "grep -q '^00:ff:ff:ff:ff:12:40:1b:80:01:' $C/broadcast"
check "ip -d link: ib0.8001@ib0, ipoib pkey 0x8001" \
	sh -c "ip -d link show ib0.8001 | grep -q 'ib0.8001@ib0' && ip -d link show ib0.8001 | grep -q 'ipoib pkey  *0x8001'"
check "child up" ip link set ib0.8001 up
sleep 2
check_eq "P_Key 0x8001 is not in rxe's table: carrier stays off" 0 "$(cat $C/carrier)"
after=$(links)
check "create_child 0x8001 again: Name not unique" write_err $S/create_child 0x8001 "Name not unique"
check "create_child 0xffff (the parent's): Name not unique" write_err $S/create_child 0xffff "Name not unique"
check "create_child 0: EINVAL" write_err $S/create_child 0 "Invalid argument"
check "create_child 0x8000: EINVAL" write_err $S/create_child 0x8000 "Invalid argument"
check "create_child 0x10000: EINVAL" write_err $S/create_child 0x10000 "Invalid argument"
check "create_child -1: EINVAL" write_err $S/create_child -1 "Invalid argument"
check "create_child junk: EINVAL" write_err $S/create_child junk "Invalid argument"
check "delete_child 0x10000: EINVAL" write_err $S/delete_child 0x10000 "Invalid argument"
check "delete_child 1 (P_Keys compare with the full-member bit): ENODEV" \
	write_err $S/delete_child 1 "No such device"
check "delete_child 0x8002 (none): ENODEV" write_err $S/delete_child 0x8002 "No such device"
check_eq "links unchanged by the failed writes" "$after" "$(links)"
check "child-of-child through netlink: EINVAL" \
	fails_with "Invalid argument" ip link add link ib0.8001 name x type ipoib pkey 0x8003
check "ip link set ib0 down takes the child down" \
	sh -c "ip link set ib0 down && ! ip link show ib0.8001 | grep -q ',UP'"
check "ip link set ib0 up takes the child up" \
	sh -c "ip link set ib0 up && ip link show ib0.8001 | grep -q ',UP'"
check "delete_child 0x8001" write $S/delete_child 0x8001
check "ib0.8001 is gone" test ! -e $C
check_eq "links as before" "$before" "$(links)"
check "delete_child 0x8001 again: ENODEV" write_err $S/delete_child 0x8001 "No such device"

# --- netlink children ---
check "ip link add ib0.8002 type ipoib pkey 0x8002" ip link add link ib0 name ib0.8002 type ipoib pkey 0x8002
check "netlink child: ib0.8002@ib0 with pkey 0x8002" \
	sh -c "ip -d link show ib0.8002 | grep -q 'ib0.8002@ib0' && ip -d link show ib0.8002 | grep -q 'ipoib pkey  *0x8002'"
check "netlink child has no driver sysfs files" \
	sh -c "! test -e /sys/class/net/ib0.8002/pkey && ! test -e /sys/class/net/ib0.8002/mode"
check "renaming moves the debugfs files" sh -c \
	"ip link set ib0.8002 name ib0x && test -e /sys/kernel/debug/ipoib/ib0x_mcg && ! test -e /sys/kernel/debug/ipoib/ib0.8002_mcg && ip link set ib0x name ib0.8002"
check "ip link del ib0.8002" ip link del ib0.8002
check "deleting removes the debugfs files" sh -c \
	"! test -e /sys/kernel/debug/ipoib/ib0.8002_mcg && ! test -e /sys/kernel/debug/ipoib/ib0.8002_path"
check "ib0.8002 is gone" test ! -e /sys/class/net/ib0.8002
check "ip link add without a link: EINVAL" fails_with "Invalid argument" ip link add name x type ipoib
check "ip link add on eth0: ENODEV" fails_with "No such device" ip link add link eth0 name x type ipoib
check "ip link add with pkey 0x8000: EINVAL" fails_with "Invalid argument" ip link add link ib0 name x type ipoib pkey 0x8000
check "ip link add with mode connected: a child in connected mode" \
	sh -c "ip link add link ib0 name x type ipoib mode connected && ip -d link show x | grep -q 'mode  *connected' && ip link del x"
check "netlink children may repeat a P_Key" sh -c \
	"ip link add link ib0 name d1 type ipoib pkey 0x8005 && ip link add link ib0 name d2 type ipoib pkey 0x8005 && ip link del d1 && ip link del d2"
check_eq "links as before" "$before" "$(links)"

# --- a same-P_Key child in a namespace carries traffic to the peer's ---
IPC=192.168.79
me=$([ "$VM_NAME" = a ] && echo 1 || echo 2)
other=$([ "$VM_NAME" = a ] && echo 2 || echo 1)
check "ip link add ib0c (the parent's P_Key)" ip link add link ib0 name ib0c type ipoib
check_eq "ib0c pkey" 0xffff "$(ip -d link show ib0c | sed -n 's/.*ipoib pkey  *\(0x[0-9a-f]*\).*/\1/p')"
ip netns add ns1
check "move ib0c into ns1" ip link set ib0c netns ns1
check "ib0c up in ns1 with $IPC.$me" sh -c \
	"ip -n ns1 addr add $IPC.$me/24 dev ib0c && ip -n ns1 link set ib0c up && ip -n ns1 link set lo up"
check "ib0c carrier in ns1" wait_for 20 sh -c "[ \"\$(ip netns exec ns1 cat /sys/class/net/ib0c/carrier)\" = 1 ]"
barrier ns-up || fail "peer"
check "ping the peer's child from ns1" pings -n ns1 3 $IPC.$other
barrier ns-pinged || fail "peer"
check "delete ns1" ip netns del ns1
check "deleting the namespace returns ib0c (netns_refund)" wait_for 10 test -e /sys/class/net/ib0c
check "ip link del ib0c" ip link del ib0c

# --- create/delete cycles, then a leak check ---
n=0
t0=$(date +%s)
while [ $n -lt 500 ]; do
	write $S/create_child 0x8010 >/dev/null || break
	write $S/delete_child 0x8010 >/dev/null || break
	n=$((n + 1))
done
check_eq "500 create_child/delete_child cycles ($(($(date +%s) - t0))s)" 500 $n
check_eq "links as before" "$before" "$(links)"
check "no leak (kmemleak)" kmemleak_check

# --- unloading the module removes the children ---
write $S/create_child 0x8001 >/dev/null
ip link add link ib0 name ib0.8002 type ipoib pkey 0x8002
check "modprobe -r with a legacy and a netlink child" modprobe -r ib_ipoib
check "children are gone" sh -c "! test -e /sys/class/net/ib0.8001 && ! test -e /sys/class/net/ib0.8002"
teardown_ipoib
finish
