#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Our mlx4_ib's probe on the software ConnectX-3, as long as it has no verbs
# provider: it reads each HCA's port types and firmware version through
# mlx4_core, logs them and declines the device (ENODEV), so both HCAs stay
# unbound and no RDMA device appears; it unloads cleanly, and the kernel's C
# mlx4_ib binds the same HCAs afterwards.
# timeout: 180
# exercises: ours
. "$(dirname "$0")/../lib.sh"

D=/sys/bus/auxiliary/drivers/mlx4_core.ib
IB=/sys/class/infiniband

check "modprobe mlx4_model (the software ConnectX-3)" modprobe mlx4_model
modprobe ib_core
check "insmod our mlx4_ib" insmod "$REPO/mlx4_ib.ko"
check "the loaded mlx4_ib is ours" loaded_ours mlx4_ib
check "driver mlx4_core.ib registered" test -d $D
for i in 0 1; do
	a=mlx4_core.ib.$i
	check "$a: port 1 read as InfiniBand" dmesg_has "$a: port 1: Ib\$"
	check "$a: firmware 2.42.5000, one RDMA port, sm_guid_assign=0" \
		dmesg_has "$a: firmware 2\.42\.5000, 1 RDMA-capable port\(s\), sm_guid_assign=0"
	check "$a: declined (no verbs provider yet)" \
		dmesg_has "$a: verbs provider not implemented yet, not binding"
	check "$a left unbound" test ! -e $D/$a
done
check "no RDMA device registered" sh -c "! ls $IB | grep -q mlx4"
# Binding by hand probes again and fails the same way.
if echo mlx4_core.ib.0 >$D/bind 2>/tmp/bind.err; then
	fail "bind mlx4_core.ib.0 succeeded"
else
	echo "# ok bind mlx4_core.ib.0 refused: $(cat /tmp/bind.err)"
fi
check_eq "a second probe of mlx4_core.ib.0" 2 \
	"$(dmesg_count 'mlx4_core.ib.0: verbs provider not implemented yet, not binding')"
check "rmmod our mlx4_ib" rmmod mlx4_ib
check "driver mlx4_core.ib unregistered" test ! -d $D
check "the C mlx4_ib binds both HCAs afterwards" sh -c \
	"modprobe mlx4_ib && ls $D | grep -c '^mlx4_core.ib.[01]\$' | grep -qx 2"
check "the loaded mlx4_ib is now the C one" loaded_c mlx4_ib
check "modules unload" modprobe -r mlx4_ib mlx4_model
check "no leak (kmemleak)" kmemleak_check
finish
