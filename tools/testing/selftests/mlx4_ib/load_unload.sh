#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# mlx4_ib registers with mlx4_core's auxiliary bus as the C driver does
# (driver mlx4_core.ib, alias auxiliary:mlx4_core.ib), and loads and unloads
# cleanly 20 times.
# timeout: 180
# exercises: ours
. "$(dirname "$0")/../lib.sh"

D=/sys/bus/auxiliary/drivers/mlx4_core.ib

is_ours mlx4_ib || fail "modprobe resolves mlx4_ib to $(modinfo -F filename mlx4_ib)"
info=$(modinfo mlx4_ib)
echo "$info" | sed 's/^/#   /'
check "modinfo alias auxiliary:mlx4_core.ib" sh -c "modinfo -F alias mlx4_ib | grep -qx 'auxiliary:mlx4_core.ib'"
check "modinfo depends on mlx4_core" sh -c "modinfo -F depends mlx4_ib | tr , '\n' | grep -qx mlx4_core"
check "modinfo parm sm_guid_assign (int)" sh -c "modinfo mlx4_ib | grep -q '^parm: *sm_guid_assign:.*(int)\$'"
check_eq "modinfo description" "Mellanox ConnectX HCA InfiniBand driver" "$(modinfo -F description mlx4_ib)"
check "modprobe resolves the alias to mlx4_ib" sh -c "modprobe -R auxiliary:mlx4_core.ib | grep -qx mlx4_ib"

check "modprobe mlx4_ib (pulls in mlx4_core)" modprobe mlx4_ib
check "the loaded mlx4_ib is ours" loaded_ours mlx4_ib
check "mlx4_core loaded (the kernel's)" loaded_c mlx4_core
check "driver mlx4_core.ib registered" test -d $D
check_eq "sm_guid_assign default" 0 "$(cat /sys/module/mlx4_ib/parameters/sm_guid_assign)"
check "modprobe -r mlx4_ib" modprobe -r mlx4_ib
check "driver mlx4_core.ib unregistered" test ! -d $D

cycle() {
	i=0
	while [ $i -lt 20 ]; do
		modprobe mlx4_ib sm_guid_assign=1 || return 1
		loaded_ours mlx4_ib || return 1
		[ -d $D ] || return 1
		[ "$(cat /sys/module/mlx4_ib/parameters/sm_guid_assign)" = 1 ] || return 1
		rmmod mlx4_ib || return 1
		[ ! -d $D ] || return 1
		i=$((i + 1))
	done
}
check "20 load/unload cycles with mlx4_core loaded" cycle
check "mlx4_core unloads after" modprobe -r mlx4_core
check "no leak (kmemleak)" kmemleak_check
finish
