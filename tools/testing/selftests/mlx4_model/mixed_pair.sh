#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The mixed pair: HCA 0 on the kernel's C mlx4_ib, HCA 1 on ours (the test
# build mlx4_ib_pair, bound by hand through the auxiliary bus), so the cable
# has one driver at each end and a mistake ours makes the same way on both
# ends cannot cancel out. opensm (on HCA 0) sweeps both ports through it and
# the diagnostics reach our end; then the C ib_ipoib and our ib_ipoib each
# carry ping, ping6 and iperf3 across it in datagram and connected mode.
# timeout: 900
# exercises: ours
. "$(dirname "$0")/../lib.sh"

AUX=/sys/bus/auxiliary
IB=/sys/class/infiniband

# dev_of GUID: the RDMA device with that node GUID.
dev_of() {
	for _d in $IB/*; do
		[ "$(cat $_d/node_guid)" = "$1" ] && basename $_d
	done
}

check "modprobe mlx4_model (the software ConnectX-3)" modprobe mlx4_model
check "modprobe mlx4_ib (the C one)" modprobe mlx4_ib
check "the loaded mlx4_ib is the C one" loaded_c mlx4_ib
check "both HCAs registered" wait_for 20 test -e $IB/mlx4_1
check "insmod mlx4_ib_pair (our mlx4_ib under another name)" insmod "$REPO/mlx4_ib_pair.ko"
check "driver mlx4_core.ib_pair registered" test -d $AUX/drivers/mlx4_core.ib_pair
check "HCA 1 unbound from the C mlx4_ib" sh -c \
	"echo mlx4_core.ib.1 >$AUX/drivers/mlx4_core.ib/unbind"
check "HCA 1 bound to ours" sh -c "echo mlx4_core.ib.1 >$AUX/drivers/mlx4_core.ib_pair/bind"
check "mlx4_core.ib.0 on the C driver" sh -c \
	"readlink $AUX/devices/mlx4_core.ib.0/driver | grep -q '/mlx4_core.ib\$'"
check "mlx4_core.ib.1 on ours" sh -c \
	"readlink $AUX/devices/mlx4_core.ib.1/driver | grep -q '/mlx4_core.ib_pair\$'"
check "two RDMA devices" wait_for 20 sh -c "[ \$(ls $IB | wc -l) = 2 ]"
c_dev=$(dev_of 0002:c903:00a0:0000)
r_dev=$(dev_of 0002:c903:00a0:0100)
echo "# C mlx4_ib: $c_dev, ours: $r_dev"
check "ours registered HCA 1" test -n "$r_dev"
check "ours logged its registration" dmesg_has "mlx4_ib_pair: mlx4_core.ib.1: $r_dev registered"

modprobe ib_umad
# A log of its own: opensm appends, and earlier tests' opensm logged theirs.
rm -f /tmp/opensm.log
opensm -g $MODEL_SM_GUID -B -f /tmp/opensm.log >/tmp/opensm.out 2>&1
check "opensm: both ports ACTIVE" wait_for 60 sh -c \
	"grep -q ACTIVE $IB/$c_dev/ports/1/state && grep -q ACTIVE $IB/$r_dev/ports/1/state"
check "opensm logged no error" sh -c "! grep ' ERR ' /tmp/opensm.log"
check_eq "our port's LID" 0x2 "$(cat $IB/$r_dev/ports/1/lid)"
check_eq "our port's SM LID" 0x1 "$(cat $IB/$r_dev/ports/1/sm_lid)"
check "smpquery nodeinfo of our end (LID 2)" sh -c \
	"smpquery nodeinfo 2 | grep -q 'Guid:.*0x0002c90300a00100'"
check "smpquery -D nodedesc 0,1 (directed route to our end)" sh -c \
	"smpquery -D nodedesc 0,1 | grep -q 'MT25408 ConnectX Mellanox Technologies'"
check "sminfo from our end" sh -c "sminfo -C $r_dev | grep -q 'sm lid 1 .*SMINFO_MASTER'"
check "saquery from our end: two node records" sh -c \
	"[ \$(saquery -C $r_dev 2>/dev/null | grep -c '^NodeRecord dump') = 2 ]"

# User verbs across the cable: libmlx4 on both drivers, each as server and client.
# upair SERVER CLIENT CMD...: server on RDMA device SERVER, client on CLIENT.
upair() {
	_s=$1 _c=$2
	shift 2
	timeout 120 "$@" -d $_s >/tmp/srv.out 2>&1 &
	_spid=$!
	sleep 2
	timeout 120 "$@" -d $_c 127.0.0.1 >/tmp/cli.out 2>&1
	_crc=$?
	wait $_spid
	_src=$?
	tail -n 2 /tmp/cli.out | sed 's/^/#   /'
	[ $_crc = 0 ] && [ $_src = 0 ]
}
check "ibv_rc_pingpong, server on ours (validated)" \
	upair $r_dev $c_dev ibv_rc_pingpong -c -n 100 -s 4096
check "ibv_rc_pingpong, server on C (validated)" \
	upair $c_dev $r_dev ibv_rc_pingpong -c -n 100 -s 4096
check "ibv_ud_pingpong across (validated)" upair $r_dev $c_dev ibv_ud_pingpong -c -n 100 -s 2048
check "ibv_srq_pingpong across (validated, 4 QPs)" \
	upair $c_dev $r_dev ibv_srq_pingpong -c -n 50 -q 4
check "ib_write_bw across" upair $r_dev $c_dev ib_write_bw -n 200
check "ib_read_bw across" upair $c_dev $r_dev ib_read_bw -n 200
check "ib_atomic_bw across" upair $r_dev $c_dev ib_atomic_bw -n 200
/usr/bin/python3 "$(dirname "$0")/rdma_verify.py" $c_dev $r_dev >/tmp/verify.out 2>&1
vrc=$?
cat /tmp/verify.out
[ $vrc = 0 ] || fail "RC data checks across, C to ours (pyverbs)"

# ibv_devinfo -v of the two drivers on identical HCAs: the same but for what
# names the HCA (its name, GUIDs and port address) and the port capability
# IsSM (bit 1), which only the port opensm runs on (C's) has.
devinfo() {
	ibv_devinfo -v -d $1 |
		grep -Ev 'hca_id:|node_guid:|sys_image_guid:|port_lid:|GID\[|port_cap_flags:'
}
devinfo $c_dev >/tmp/devinfo.c
devinfo $r_dev >/tmp/devinfo.r
check "ibv_devinfo -v: ours as C" diff /tmp/devinfo.c /tmp/devinfo.r
diff /tmp/devinfo.c /tmp/devinfo.r | sed 's/^/#   /'
capflags() { ibv_devinfo -v -d $1 | sed -n 's/.*port_cap_flags:[[:space:]]*//p'; }
check "port capabilities: C's port has IsSM on top of ours" \
	sh -c "[ \$(( $(capflags $c_dev) ^ $(capflags $r_dev) )) = 2 ]"

# ipoib_across IMPL: ib0 and ib1 (one on each HCA) in namespaces a and b, traffic
# both modes, then the module is unloaded.
ipoib_across() {
	check "$1 ib_ipoib: ib0 and ib1" wait_for 20 sh -c \
		"test -e /sys/class/net/ib0 && test -e /sys/class/net/ib1"
	check "$1 ib_ipoib: ib0 and ib1 are on different HCAs" sh -c \
		"[ \$(realpath /sys/class/net/ib0/device) != \$(realpath /sys/class/net/ib1/device) ]"
	check "$1 ib_ipoib: namespaces" model_ipoib_netns
	if ! check "$1: ping (datagram)" wait_for 60 ip netns exec a ping -c 1 -W 1 10.9.0.2; then
		model_ipoib_diag 2>&1 | sed 's/^/#   /'
	fi
	check "$1: ping -c 10 (datagram)" pings -n a 10 -i 0.2 10.9.0.2
	check "$1: ping6 -c 5 (datagram)" pings -n a 5 -i 0.2 fd00:9::2
	check "$1: ping -s 4000 (datagram)" pings -n a 3 -s 4000 10.9.0.2
	ip netns exec b iperf3 -s -1 -D
	sleep 1
	check "$1: iperf3 (datagram)" sh -c \
		"timeout 60 ip netns exec a iperf3 -c 10.9.0.2 -t 3 >/tmp/iperf.dg"
	grep receiver /tmp/iperf.dg | sed 's/^/#   /'
	check "$1: connected mode on both ends" sh -c \
		"ip netns exec a sh -c 'echo connected >/sys/class/net/ib0/mode' &&
		 ip netns exec b sh -c 'echo connected >/sys/class/net/ib1/mode'"
	ip -n a link set ib0 mtu 65520
	ip -n b link set ib1 mtu 65520
	check "$1: ping -s 60000 (connected)" pings -n a 3 -s 60000 10.9.0.2
	check "$1: ping6 -s 30000 (connected)" pings -n a 3 -6 -s 30000 fd00:9::2
	ip netns exec b iperf3 -s -1 -D
	sleep 1
	check "$1: iperf3 (connected)" sh -c \
		"timeout 60 ip netns exec a iperf3 -c 10.9.0.2 -t 3 >/tmp/iperf.cm"
	grep receiver /tmp/iperf.cm | sed 's/^/#   /'
	ip netns del a
	ip netns del b
}

check "modprobe ib_ipoib (the C one)" modprobe ib_ipoib
check "the loaded ib_ipoib is the C one" loaded_c ib_ipoib
ipoib_across C
check "rmmod the C ib_ipoib" wait_for 20 rmmod ib_ipoib
check "insmod our ib_ipoib" insmod "$REPO/ib_ipoib.ko"
check "the loaded ib_ipoib is ours" loaded_ours ib_ipoib
ipoib_across our
check "rmmod our ib_ipoib" wait_for 20 rmmod ib_ipoib

pkill -x opensm
check "opensm stops" wait_for 15 sh -c "! pgrep -x opensm"
check "rmmod ib_umad" wait_for 30 modprobe -r ib_umad
check "rmmod mlx4_ib_pair (unbinds HCA 1)" rmmod mlx4_ib_pair
check "$r_dev gone" test ! -e $IB/$r_dev
check "modules unload" wait_for 30 modprobe -r mlx4_ib mlx4_model
check "no leak (kmemleak)" kmemleak_check
finish
