#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# opensm on mlx4_0 sweeps the two-node fabric of the software ConnectX-3
# through the C mlx4_ib: both ports ACTIVE with LIDs, and the diagnostics
# (ibstat, ibnetdiscover, smpquery, saquery, sminfo) see what the model's SMA
# and opensm's SA say.
# timeout: 300
# mlx4_ib: both
# exercises: reference
. "$(dirname "$0")/../lib.sh"

check "mlx4_ib and opensm up, both ports ACTIVE" model_start
check "opensm logged no error" sh -c "! grep ' ERR ' /tmp/opensm.log"
check_eq "mlx4_0 LID" 0x1 "$(cat /sys/class/infiniband/mlx4_0/ports/1/lid)"
check_eq "mlx4_1 LID" 0x2 "$(cat /sys/class/infiniband/mlx4_1/ports/1/lid)"
check_eq "mlx4_1 SM LID" 0x1 "$(cat /sys/class/infiniband/mlx4_1/ports/1/sm_lid)"
check "rdma link: both ACTIVE" \
	sh -c "rdma link | grep -c 'state ACTIVE physical_state LINK_UP' | grep -qx 2"
check "ibstat mlx4_1: Active, base lid 2, SM lid 1" sh -c \
	"ibstat mlx4_1 | grep -q 'State: Active' && ibstat mlx4_1 | grep -q 'Base lid: 2' &&
	 ibstat mlx4_1 | grep -q 'SM lid: 1'"
check "IsSM set on mlx4_0's port (0x0251486a)" sh -c \
	"ibstat mlx4_0 | grep -q 'Capability mask: 0x0251486a'"
ibnetdiscover >/tmp/netdisc 2>&1
sed 's/^/#   /' /tmp/netdisc | grep -v '^#   $' | head -n 20
check_eq "ibnetdiscover: two channel adapters" 2 "$(grep -c '^Ca' /tmp/netdisc)"
check "ibnetdiscover: the cable port 1 <-> port 1" \
	grep -q '^\[1\](2c90300a00001).*"H-0002c90300a00100".*\[1\]' /tmp/netdisc
smpquery nodeinfo 2 >/tmp/ni 2>&1
sed 's/^/#   /' /tmp/ni
check "smpquery nodeinfo (LID 2): GUID, vendor, device, ports" sh -c \
	"grep -q '^Guid:.*0x0002c90300a00100' /tmp/ni && grep -q 'VendorId:.*0x0002c9' /tmp/ni &&
	 grep -q 'DevId:.*0x1003' /tmp/ni && grep -q 'NumPorts:.*1' /tmp/ni"
check "smpquery -D nodedesc 0,1 (directed route)" sh -c \
	"smpquery -D nodedesc 0,1 | grep -q 'MT25408 ConnectX Mellanox Technologies'"
check "smpquery portinfo 2: LinkUp, Active, 4X" sh -c \
	"smpquery portinfo 2 1 >/tmp/pi && grep -q 'PhysLinkState:.*LinkUp' /tmp/pi &&
	 grep -q 'LinkState:.*Active' /tmp/pi && grep -q 'LinkWidthActive:.*4X' /tmp/pi"
check_eq "saquery: two node records" 2 "$(saquery 2>/dev/null | grep -c '^NodeRecord dump')"
saquery PIR 2 >/tmp/pir 2>&1
sed 's/^/#   /' /tmp/pir | head -n 12
check "saquery PortInfoRecord of LID 2" grep -q 'EndPortLid\.*2$' /tmp/pir
check "sminfo: master SM at LID 1" sh -c "sminfo | grep -q 'sminfo: sm lid 1 .*SMINFO_MASTER'"
# A bad query: SubnGet(P_KeyTable) of block 4 (past the 128 P_Keys, 32 a block)
# gets status 0x1c (invalid attribute modifier); block 0 gets none.
smpdump 2 0x16 0 >/tmp/pk0 2>&1
smpdump 2 0x16 4 >/tmp/pk4 2>&1
sed 's/^/#   /' /tmp/pk4
check "SubnGet(P_KeyTable) block 0: no error status" sh -c "! grep -q 'SMP status' /tmp/pk0"
check "SubnGet(P_KeyTable) block 4: SMP status 0x1c (invalid field)" grep -qx 'SMP status: 0x1c' /tmp/pk4
check "the port still answers afterwards" sh -c "smpquery nodeinfo 2 | grep -q 'Guid:.*0x0002c90300a00100'"
check "opensm stops, modules unload" model_stop
check "no leak (kmemleak)" kmemleak_check
finish
