#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The kernel's C mlx4_ib binds both HCAs of the software ConnectX-3
# (mlx4_model), registers mlx4_0 and mlx4_1 with the model's caps, and their
# cabled ports train to INIT (no SM yet) once both drivers brought QP0 up.
# Unbinding one end takes the other's link down; rmmod is clean.
# timeout: 300
# mlx4_ib: both
# exercises: reference
. "$(dirname "$0")/../lib.sh"

IB=/sys/class/infiniband

check "modprobe mlx4_ib" modprobe mlx4_ib
check "the loaded mlx4_ib is the one of this run ($MLX4_IB)" loaded_mlx4_ib
if [ "$MLX4_IB" = c ]; then
	check "mlx4_ib is the kernel's C driver" \
		sh -c "modinfo -F filename mlx4_ib | grep -q /kernel/drivers/infiniband/hw/mlx4/mlx4_ib.ko"
fi
check "mlx4_model provides mlx4_core's symbols" \
	sh -c "grep -q '^mlx4_ib ' /proc/modules && grep '^mlx4_model ' /proc/modules | grep -q mlx4_ib"
check "the real mlx4_core is not loaded" test ! -d /sys/module/mlx4_core
check "two auxiliary devices mlx4_core.ib.0/1 bound" \
	sh -c "ls /sys/bus/auxiliary/drivers/mlx4_core.ib | grep -c '^mlx4_core.ib.[01]$' | grep -qx 2"
wait_for 10 test -e $IB/mlx4_1/ports/1/state || fail "mlx4_1 not registered"

port_state() { sed -n 's/^[0-9]*: //p' "$IB/$1/ports/1/state"; }
phys_state() { sed -n 's/^[0-9]*: //p' "$IB/$1/ports/1/phys_state"; }

for d in mlx4_0 mlx4_1; do
	case $d in mlx4_0) g=0002:c903:00a0:0000 ;; mlx4_1) g=0002:c903:00a0:0100 ;; esac
	check_eq "$d fw_ver" 2.42.5000 "$(cat $IB/$d/fw_ver)"
	check_eq "$d node_type" "1: CA" "$(cat $IB/$d/node_type)"
	check_eq "$d node_guid" "$g" "$(cat $IB/$d/node_guid)"
	check_eq "$d node_desc" "MT25408 ConnectX Mellanox Technologies" "$(cat $IB/$d/node_desc)"
	check_eq "$d board_id" MT_1090120019 "$(cat $IB/$d/board_id)"
	check "$d link layer InfiniBand" grep -qx InfiniBand $IB/$d/ports/1/link_layer
	wait_for 10 sh -c "grep -q INIT $IB/$d/ports/1/state" || true
	check_eq "$d port state before an SM" INIT "$(port_state $d)"
	check_eq "$d physical state" LinkUp "$(phys_state $d)"
	check_eq "$d rate" "40 Gb/sec (4X QDR)" "$(cat $IB/$d/ports/1/rate)"
	check_eq "$d lid" 0x0 "$(cat $IB/$d/ports/1/lid)"
	check_eq "$d GID 0" "fe80:0000:0000:0000:${g%0}1" "$(cat $IB/$d/ports/1/gids/0)"
	check_eq "$d P_Key 0" 0xffff "$(cat $IB/$d/ports/1/pkeys/0)"
	check_eq "$d P_Key 1" 0x0000 "$(cat $IB/$d/ports/1/pkeys/1)"
	check_eq "$d capability mask" "0x02514868" "$(cat $IB/$d/ports/1/cap_mask)"
done

# Userspace verbs through libmlx4 (opens a context: UAR mmap from the BAR).
check "ibv_devinfo -v opens mlx4_0 through libmlx4" sh -c "ibv_devinfo -v -d mlx4_0 >/tmp/devinfo"
sed 's/^/#   /' /tmp/devinfo | head -n 30
for kv in "fw_ver:2.42.5000" "vendor_id:0x02c9" "phys_port_cnt:1" "max_qp:131000" \
	"max_cqe:4194303" "max_pkeys:128" "max_mcast_qp_attach:248" "state:PORT_INIT (2)" \
	"max_mtu:4096 (5)" "active_mtu:4096 (5)" "link_layer:InfiniBand"; do
	k=${kv%%:*} v=${kv#*:}
	check_eq "ibv_devinfo $k" "$v" "$(sed -n "s/^[[:space:]]*$k:[[:space:]]*//p" /tmp/devinfo | head -n 1)"
done
# The caps: a ConnectX-3 as it ships (64-byte CQEs, the reserved lkey), or the old subset
# that legacy_caps.sh asks for (MODEL_CAPS=legacy).
case "${MODEL_CAPS:-}" in
legacy) want_cqe=32 want_lkey=0 want_offloads=0 ;;
*) want_cqe=64 want_lkey=1 want_offloads=1 ;;
esac
P=/sys/module/mlx4_model/parameters
check_eq "model cqe_size" $want_cqe "$(cat $P/cqe_size)"
check_eq "model rsvd_lkey" $want_lkey "$(cat $P/rsvd_lkey)"
check_eq "model offloads" $want_offloads "$(cat $P/offloads)"
# mlx4_ib turns IPOIB_CSUM into IB_DEVICE_UD_IP_CSUM.
check_eq "UD_IP_CSUM in device_cap_flags as the caps say" $want_offloads \
	"$(grep -c '[[:space:]]UD_IP_CSUM$' /tmp/devinfo)"
# libmlx4 learns of 64-byte CQEs through the ucontext: mlx4_ib offers uverbs ABI 4 then
# (non-zero userspace_caps), 3 otherwise.
check_eq "uverbs ABI version" $((want_cqe == 64 ? 4 : 3)) \
	"$(cat /sys/class/infiniband/mlx4_0/device/infiniband_verbs/uverbs*/abi_version)"
check "rdma link: both ports INIT, LINK_UP" \
	sh -c "rdma link | grep -c 'state INIT physical_state LINK_UP' | grep -qx 2"
check "devlink ports are InfiniBand ports" \
	sh -c "devlink port show | grep -c 'type ib' | grep -qx 2"

# Unbinding mlx4_1 closes its port: the cable goes dark at mlx4_0's end too.
D=/sys/bus/auxiliary/drivers/mlx4_core.ib
check "unbind mlx4_core.ib.1" sh -c "echo mlx4_core.ib.1 >$D/unbind"
check "mlx4_1 unregistered" wait_for 10 test ! -e $IB/mlx4_1
check "mlx4_0 port DOWN, link Polling" \
	wait_for 10 sh -c "grep -q DOWN $IB/mlx4_0/ports/1/state && grep -q Polling $IB/mlx4_0/ports/1/phys_state"
check "rebind mlx4_core.ib.1" sh -c "echo mlx4_core.ib.1 >$D/bind"
check "both ports INIT again" wait_for 10 sh -c \
	"grep -q INIT $IB/mlx4_0/ports/1/state && grep -q INIT $IB/mlx4_1/ports/1/state"

check "modprobe -r mlx4_ib" modprobe -r mlx4_ib
check "no mlx4 device left" sh -c "! ls $IB | grep -q mlx4"
check "modprobe -r mlx4_model" modprobe -r mlx4_model
cycle() {
	i=0
	while [ $i -lt 3 ]; do
		modprobe mlx4_ib || return 1
		wait_for 10 test -e $IB/mlx4_1/ports/1/state || return 1
		modprobe -r mlx4_ib mlx4_model || return 1
		i=$((i + 1))
	done
}
check "3 load/unload cycles" cycle
check "no leak (kmemleak)" kmemleak_check
finish
