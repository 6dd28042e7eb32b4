#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Our mlx4_ib on the software ConnectX-3: it binds both HCAs and registers
# mlx4_0 and mlx4_1 with the kernel verbs; the sysfs attributes are those the
# C driver shows (both dumped in this VM, before an SM, and compared); opensm sweeps the fabric through our MAD path (QP0/QP1 MLX
# sends, process_mad) and the diagnostics answer; the C ib_ipoib runs over it,
# and our mlx4_ib unloads under its traffic. Then 20 cycles of load, unbind
# and bind by hand through the auxiliary bus, unload.
# timeout: 600
# exercises: ours
. "$(dirname "$0")/../lib.sh"

D=/sys/bus/auxiliary/drivers/mlx4_core.ib
IB=/sys/class/infiniband

# The device and port attributes of both HCAs, one "path value" line each.
sysfs_dump() {
	for d in mlx4_0 mlx4_1; do
		for f in node_guid sys_image_guid fw_ver hca_type hw_rev board_id node_desc node_type \
			ports/1/state ports/1/phys_state ports/1/rate ports/1/lid ports/1/sm_lid \
			ports/1/sm_sl ports/1/lid_mask_count ports/1/cap_mask ports/1/link_layer \
			ports/1/gids/0 ports/1/gids/1 ports/1/pkeys/0 ports/1/pkeys/1 ports/1/pkeys/127; do
			echo "$d/$f $(cat $IB/$d/$f 2>&1)"
		done
		echo "$d gids $(ls $IB/$d/ports/1/gids | wc -l) pkeys $(ls $IB/$d/ports/1/pkeys | wc -l)"
		# The device attributes (query_device), without the device index.
		rdma dev show $d -d | sed 's/^[0-9]*: //'
	done
}

check "modprobe mlx4_model (the software ConnectX-3)" modprobe mlx4_model
modprobe ib_core
check "modprobe mlx4_ib (the C one, for reference)" modprobe mlx4_ib
check "the loaded mlx4_ib is the C one" loaded_c mlx4_ib
wait_for 20 sh -c "grep -q INIT $IB/mlx4_1/ports/1/state"
sysfs_dump >/tmp/sysfs.c
check "rmmod the C mlx4_ib" rmmod mlx4_ib
check "insmod our mlx4_ib" insmod "$REPO/mlx4_ib.ko"
check "the loaded mlx4_ib is ours" loaded_ours mlx4_ib
check "both HCAs bound" sh -c "ls $D | grep -c '^mlx4_core.ib.[01]\$' | grep -qx 2"
check "mlx4_0 and mlx4_1 registered" wait_for 20 test -e $IB/mlx4_1/ports/1/state
wait_for 20 sh -c "grep -q INIT $IB/mlx4_1/ports/1/state"
sysfs_dump >/tmp/sysfs.rust
sed 's/^/#   /' /tmp/sysfs.rust
check "sysfs: the C driver's attributes, value for value" diff /tmp/sysfs.c /tmp/sysfs.rust
rdma link | sed 's/^/#   /'
check_eq "rdma link: mlx4_0/1 and mlx4_1/1" 2 "$(rdma link | grep -c '^link mlx4_[01]/1 ')"
rdma dev -d | sed 's/^/#   /'
for d in mlx4_0 mlx4_1; do
	check_eq "$d fw_ver" 2.42.5000 "$(cat $IB/$d/fw_ver)"
	check_eq "$d node_type" "1: CA" "$(cat $IB/$d/node_type)"
	check "$d node_desc" grep -q 'MT25408 ConnectX Mellanox Technologies' $IB/$d/node_desc
	check_eq "$d link_layer" InfiniBand "$(cat $IB/$d/ports/1/link_layer)"
	check_eq "$d pkeys/0" 0xffff "$(cat $IB/$d/ports/1/pkeys/0)"
	check "$d gids/0: fe80::/64 and the port GUID" \
		grep -q '^fe80:0000:0000:0000:0002:c903:00a0:0' $IB/$d/ports/1/gids/0
done
check_eq "mlx4_0 node_guid" 0002:c903:00a0:0000 "$(cat $IB/mlx4_0/node_guid)"
check_eq "mlx4_1 node_guid" 0002:c903:00a0:0100 "$(cat $IB/mlx4_1/node_guid)"

modprobe ib_umad
# A log of its own: opensm appends, and earlier tests' opensm logged theirs.
rm -f /tmp/opensm.log
set -- -g $MODEL_SM_GUID -B -f /tmp/opensm.log
opensm "$@" >/tmp/opensm.out 2>&1
check "opensm: both ports ACTIVE" wait_for 60 sh -c \
	"grep -q ACTIVE $IB/mlx4_0/ports/1/state && grep -q ACTIVE $IB/mlx4_1/ports/1/state"
check "opensm logged no error" sh -c "! grep ' ERR ' /tmp/opensm.log"
check_eq "mlx4_0 LID" 0x1 "$(cat $IB/mlx4_0/ports/1/lid)"
check_eq "mlx4_1 LID" 0x2 "$(cat $IB/mlx4_1/ports/1/lid)"
check_eq "mlx4_1 SM LID" 0x1 "$(cat $IB/mlx4_1/ports/1/sm_lid)"
check "ibstat mlx4_1: Active, base lid 2, SM lid 1" sh -c \
	"ibstat mlx4_1 | grep -q 'State: Active' && ibstat mlx4_1 | grep -q 'Base lid: 2' &&
	 ibstat mlx4_1 | grep -q 'SM lid: 1'"
check "IsSM set on mlx4_0's port (modify_port, 0x0251486a)" sh -c \
	"ibstat mlx4_0 | grep -q 'Capability mask: 0x0251486a'"
check "smpquery nodeinfo (LID 2)" sh -c "smpquery nodeinfo 2 | grep -q 'Guid:.*0x0002c90300a00100'"
check "smpquery -D nodedesc 0,1 (directed route)" sh -c \
	"smpquery -D nodedesc 0,1 | grep -q 'MT25408 ConnectX Mellanox Technologies'"
check_eq "saquery: two node records" 2 "$(saquery 2>/dev/null | grep -c '^NodeRecord dump')"
check "sminfo: master SM at LID 1" sh -c "sminfo | grep -q 'sminfo: sm lid 1 .*SMINFO_MASTER'"
# A new node description (modify_device) is the one NodeDescription replies carry, and the
# firmware is given it (SET_NODE) for its traps.
check "write mlx4_1's node_desc" sh -c "echo -n 'rust mlx4_ib node' >$IB/mlx4_1/node_desc"
check_eq "mlx4_1 node_desc" "rust mlx4_ib node" "$(cat $IB/mlx4_1/node_desc)"
check "smpquery nodedesc 2: the new description" sh -c \
	"smpquery nodedesc 2 | grep -q 'Node Description:.*rust mlx4_ib node'"
check "the firmware got it (SET_NODE)" dmesg_has 'HCA 1: SET_NODE "rust mlx4_ib node"'

check "modprobe ib_ipoib (the C one)" modprobe ib_ipoib
check "ib0 and ib1" wait_for 20 sh -c "test -e /sys/class/net/ib0 && test -e /sys/class/net/ib1"
check "ib0 in namespace a, ib1 in b" model_ipoib_netns
if ! check "ping ib0 -> ib1 (datagram)" wait_for 60 ip netns exec a ping -c 1 -W 1 10.9.0.2; then
	model_ipoib_diag 2>&1 | sed 's/^/#   /'
fi
check "ping -c 20" ip netns exec a ping -q -c 20 -i 0.05 -w 20 10.9.0.2
check "ping6 -c 10" ip netns exec a ping -q -c 10 -i 0.05 -w 20 fd00:9::2
# Interrupt moderation of ipoib's receive CQ goes to modify_cq (mlx4_cq_modify).
check "ethtool -C ib0 rx-usecs 10 rx-frames 16" \
	ip netns exec a ethtool -C ib0 rx-usecs 10 rx-frames 16
check "the HCA was asked for it (modify_cq, mlx4_cq_modify)" \
	dmesg_has "CQ 0x[0-9a-f]+: moderation 16 completions, 10 us"
check "ping -c 10 after moderation" ip netns exec a ping -q -c 10 -i 0.05 -w 20 10.9.0.2

# Unload under traffic: the RDMA core takes ipoib's ports away first.
ip netns exec a ping -q -f -w 30 10.9.0.2 >/dev/null 2>&1 &
flood=$!
sleep 2
pkill -x opensm
check "opensm stops" wait_for 15 sh -c "! pgrep -x opensm"
check "rmmod our mlx4_ib under a ping flood" rmmod mlx4_ib
check "mlx4_0 gone" test ! -e $IB/mlx4_0
check "ib0 and ib1 gone" sh -c "! ip -n a link show ib0 2>/dev/null && ! ip -n b link show ib1 2>/dev/null"
kill $flood 2>/dev/null
wait $flood 2>/dev/null
ip netns del a
ip netns del b
check "rmmod ib_ipoib ib_umad" modprobe -r ib_ipoib ib_umad

# The same with our ib_ipoib on top.
check "insmod our mlx4_ib again" insmod "$REPO/mlx4_ib.ko"
modprobe ib_umad
# A log of its own: opensm appends, and earlier tests' opensm logged theirs.
rm -f /tmp/opensm.log
opensm -g $MODEL_SM_GUID -B -f /tmp/opensm.log >/tmp/opensm.out 2>&1
check "opensm: both ports ACTIVE again" wait_for 60 sh -c \
	"grep -q ACTIVE $IB/mlx4_0/ports/1/state && grep -q ACTIVE $IB/mlx4_1/ports/1/state"
modprobe ib_cm
check "insmod our ib_ipoib" insmod "$REPO/ib_ipoib.ko"
check "the loaded ib_ipoib is ours" loaded_ours ib_ipoib
check "ib0 and ib1 (ours)" wait_for 20 sh -c "test -e /sys/class/net/ib0 && test -e /sys/class/net/ib1"
check "ib0 in namespace a, ib1 in b (ours)" model_ipoib_netns
if ! check "ping ib0 -> ib1 (our ib_ipoib)" wait_for 60 ip netns exec a ping -c 1 -W 1 10.9.0.2; then
	model_ipoib_diag 2>&1 | sed 's/^/#   /'
fi
ip netns exec a ping -q -f -w 30 10.9.0.2 >/dev/null 2>&1 &
flood=$!
sleep 2
pkill -x opensm
check "opensm stops (ours)" wait_for 15 sh -c "! pgrep -x opensm"
check "rmmod our mlx4_ib under a ping flood of our ib_ipoib" rmmod mlx4_ib
check "ib0 and ib1 gone (ours)" \
	sh -c "! ip -n a link show ib0 2>/dev/null && ! ip -n b link show ib1 2>/dev/null"
kill $flood 2>/dev/null
wait $flood 2>/dev/null
ip netns del a
ip netns del b
check "rmmod our ib_ipoib, ib_umad" sh -c "rmmod ib_ipoib && modprobe -r ib_umad"

# Load, unbind and bind both HCAs by hand, unload: 20 times.
cycles=0
for i in $(seq 20); do
	insmod "$REPO/mlx4_ib.ko" || break
	wait_for 10 test -e $IB/mlx4_1 || break
	echo mlx4_core.ib.0 >$D/unbind || break
	test ! -e $IB/mlx4_0 || break
	echo mlx4_core.ib.0 >$D/bind || break
	wait_for 10 test -e $IB/mlx4_0 || break
	rmmod mlx4_ib || break
	cycles=$((cycles + 1))
done
check_eq "load/unbind/bind/unload cycles" 20 "$cycles"
check "modules unload" modprobe -r mlx4_model
check "no leak (kmemleak)" kmemleak_check
finish
