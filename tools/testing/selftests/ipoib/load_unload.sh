#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# ib_ipoib loads and unloads 20 times, with and without an RDMA device, and
# leaks nothing.
# timeout: 240
# exercises: ours
. "$(dirname "$0")/../lib.sh"

is_ours ib_ipoib || fail "modprobe resolves ib_ipoib to $(modinfo -F filename ib_ipoib)"

cycle() {
	i=0
	while [ $i -lt 20 ]; do
		modprobe ib_ipoib || return 1
		loaded_ours ib_ipoib || return 1
		modprobe -r ib_ipoib || return 1
		[ ! -d /sys/module/ib_ipoib ] || return 1
		i=$((i + 1))
	done
}

check "20 load/unload cycles without RDMA devices" cycle
check "ib_core stays loadable after the cycles" modprobe ib_core

modprobe rdma_rxe
rdma link add rxe0 type rxe netdev eth0
check "20 load/unload cycles with rxe0 present" cycle
check_eq "ports attached during the cycles" 20 \
	"$(dmesg_count 'ib_ipoib: rxe0 port 1: link layer Ethernet')"
check_eq "ports detached during the cycles" 20 \
	"$(dmesg_count 'ib_ipoib: rxe0 port 1: detached')"
rdma link delete rxe0
modprobe -r rdma_rxe

check "no leak (kmemleak)" kmemleak_check
finish
