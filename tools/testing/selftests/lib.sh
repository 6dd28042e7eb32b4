# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the selftests, sourced by each test script inside a test VM.
# A test prints what it checks ("# ok ..." / "# FAIL ...") and exits 0 when
# everything passed, 4 (KSFT_SKIP) when it cannot run here, 1 otherwise.

KSFT_SKIP=4
XCH=${XCH:-/run/xch}
VM_NAME=${VM_NAME:-a}
NVMS=${NVMS:-1}
FAILED=0

peer() { [ "$VM_NAME" = a ] && echo b || echo a; }

# check DESCRIPTION COMMAND...: run COMMAND, record the result.
check() {
	desc=$1
	shift
	if "$@" >/tmp/check.out 2>&1; then
		echo "# ok $desc"
	else
		echo "# FAIL $desc"
		sed 's/^/#   /' /tmp/check.out | tail -n 20
		FAILED=1
	fi
}

# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then
		echo "# ok $1 ($3)"
	else
		echo "# FAIL $1: expected '$2', got '$3'"
		FAILED=1
	fi
}

fail() {
	echo "# FAIL $*"
	FAILED=1
}

skip() {
	echo "# SKIP $*"
	exit $KSFT_SKIP
}

finish() {
	exit $FAILED
}

# wait_for TIMEOUT_S COMMAND...: poll COMMAND until it succeeds.
wait_for() {
	_deadline=$(($(date +%s) + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$_deadline" ] && return 1
		sleep 0.2
	done
	return 0
}

# pings [-n NS] N PING_ARGS...: N echo requests, one a second with 5 s for each
# reply, and every one answered (ping alone exits 0 when one of N is answered).
pings() {
	_ns=
	if [ "$1" = -n ]; then _ns=$2; shift 2; fi
	_n=$1
	shift
	if [ -n "$_ns" ]; then
		ip netns exec "$_ns" ping -c "$_n" -W 5 "$@" >/tmp/pings.out 2>&1
	else
		ping -c "$_n" -W 5 "$@" >/tmp/pings.out 2>&1
	fi
	cat /tmp/pings.out
	grep -q "^$_n packets transmitted, $_n received, .*0% packet loss" /tmp/pings.out
}

# mcast_pings [-n NS] N FROM PING_ARGS...: N echo requests to a group, each
# answered by FROM (the group's other member; our own answers do not count).
# ping stops at its last request's first answer (ours), so one more request is
# sent, and FROM must answer requests 1 to N.
mcast_pings() {
	_ns=
	if [ "$1" = -n ]; then _ns=$2; shift 2; fi
	_n=$1 _from=$2
	shift 2
	if [ -n "$_ns" ]; then
		ip netns exec "$_ns" ping -c $((_n + 1)) -W 5 "$@" >/tmp/pings.out 2>&1
	else
		ping -c $((_n + 1)) -W 5 "$@" >/tmp/pings.out 2>&1
	fi
	cat /tmp/pings.out
	_got=$(grep "bytes from $_from[:%]" /tmp/pings.out | sed -n 's/.*icmp_seq=\([0-9]*\).*/\1/p' |
		sort -un | awk -v n="$_n" '$1 <= n' | wc -l)
	echo "$_got of requests 1-$_n answered from $_from"
	[ "$_got" = "$_n" ]
}

# Kernel log written since the test started (the runner puts a marker there).
test_dmesg() {
	dmesg | sed -n "/ipoib-rs-selftest: start ${TEST_ID:-}\$/,\$p"
}

# dmesg_has REGEX: the kernel logged a line matching REGEX since the test start.
dmesg_has() {
	test_dmesg | grep -E -q -- "$1"
}

# dmesg_count REGEX: how many such lines.
dmesg_count() {
	test_dmesg | grep -E -c -- "$1"
}

# Our build of a module, not the in-tree C one of the same name. Under
# SELFTEST_INTREE=1 (tools/testing/intree/check.sh) the kernel was built with our
# drivers in its tree, in their own directories, and without the C ones.
ours_intree_re='/drivers/infiniband/(ulp/ipoib_rs|hw/mlx4_rs)/'
is_ours() {
	if [ "${SELFTEST_INTREE:-0}" = 1 ]; then
		modinfo -F filename "$1" 2>/dev/null | grep -E -q "$ours_intree_re"
	else
		modinfo -F filename "$1" 2>/dev/null | grep -q '/updates/'
	fi
}

# loaded_ours MODULE / loaded_c MODULE: the loaded MODULE is this repository's
# build (an out-of-tree module: taint flag O; in-tree: the file is ours) or the
# kernel's own C one.
loaded_ours() {
	[ -d "/sys/module/$1" ] || return 1
	if [ "${SELFTEST_INTREE:-0}" = 1 ]; then
		is_ours "$1" && ! grep -q O "/sys/module/$1/taint"
	else
		grep -q O "/sys/module/$1/taint"
	fi
}
loaded_c() {
	[ -d "/sys/module/$1" ] && ! grep -q O "/sys/module/$1/taint" || return 1
	[ "${SELFTEST_INTREE:-0}" != 1 ] || ! is_ours "$1"
}

# kmemleak_check: scan for leaks of objects allocated since the last check.
# kmemleak only reports objects older than 5 s, and needs two scans to be sure.
# A kernel built with kmemleak whose detector is off (disabled at boot, or after
# an internal error) fails: a check that cannot see leaks must not pass.
kmemleak_check() {
	kl=/sys/kernel/debug/kmemleak
	if ! grep -q ' kmemleak_alloc$' /proc/kallsyms 2>/dev/null; then
		echo "# (kmemleak not built into this kernel)"
		return 0
	fi
	[ -e $kl ] || { echo "kmemleak is built in but $kl is missing"; return 1; }
	sleep 6
	if ! { echo scan >$kl && echo scan >$kl; } 2>/dev/null; then
		echo "kmemleak refuses to scan (the detector is disabled)"
		return 1
	fi
	leaks=$(cat $kl)
	echo clear >$kl
	if [ -n "$leaks" ]; then
		echo "$leaks" | head -n 40 | sed 's/^/#   /'
		return 1
	fi
	return 0
}

# Two-VM coordination through the exchange directory shared by the guests.
# Names are per test (TEST_ID, set by the guest runner): the files stay for the
# whole boot, and a later test must not find an earlier test's barrier passed
# or its values.
# barrier NAME: wait until the other VM reaches the same barrier.
barrier() {
	[ "$NVMS" = 2 ] || return 0
	touch "$XCH/barrier.${TEST_ID:-run}.$1.$VM_NAME"
	_deadline=$(($(date +%s) + ${2:-600}))
	while [ ! -e "$XCH/barrier.${TEST_ID:-run}.$1.$(peer)" ]; do
		if [ -e "$XCH/$(peer).rc" ] || [ "$(date +%s)" -ge "$_deadline" ]; then
			echo "# barrier $1: peer vm $(peer) gone or late"
			return 1
		fi
		sleep 0.2
	done
}

# put KEY VALUE / get KEY: exchange values with the other VM.
put() {
	_kv="$XCH/kv.${TEST_ID:-run}.$VM_NAME.$1"
	printf '%s\n' "$2" >"$_kv.tmp" && mv "$_kv.tmp" "$_kv"
}
get() {
	_kv="$XCH/kv.${TEST_ID:-run}.$(peer).$1"
	wait_for "${2:-300}" test -e "$_kv" && cat "$_kv"
}

# IPv4 on the VMs' virtual wire (eth0), which exists only between the two
# guests (a QEMU stream netdev over a unix socket): vm a is .1, vm b is .2.
UNDERLAY_NET=192.168.77
underlay_ip() { [ "${1:-$VM_NAME}" = a ] && echo $UNDERLAY_NET.1 || echo $UNDERLAY_NET.2; }
setup_underlay_ip() {
	ip addr replace "$(underlay_ip)/24" dev eth0
}

# IPoIB addresses used by the datagram tests: vm a is .1/::1, vm b .2/::2.
IB_NET4=192.168.78
IB_NET6=fd00:78
ib_ip4() { [ "${1:-$VM_NAME}" = a ] && echo $IB_NET4.1 || echo $IB_NET4.2; }
ib_ip6() { [ "${1:-$VM_NAME}" = a ] && echo $IB_NET6::1 || echo $IB_NET6::2; }

# setup_ipoib [UNDERLAY_MTU]: soft-RoCE on eth0, our ib_ipoib (with the module
# parameters in $IPOIB_PARAMS), ib0 up with its
# addresses; waits for the carrier and for IPv6 DAD (when the MTU allows IPv6).
setup_ipoib() {
	ip link set eth0 mtu "${1:-9000}"
	modprobe rdma_rxe || return 1
	rdma link add rxe0 type rxe netdev eth0 || return 1
	modprobe ib_ipoib ${IPOIB_PARAMS:-} || return 1
	loaded_ours ib_ipoib || { echo "the loaded ib_ipoib is not ours"; return 1; }
	wait_for 10 test -e /sys/class/net/ib0 || return 1
	ip addr add "$(ib_ip4)/24" dev ib0
	ip link set ib0 up
	wait_for 20 sh -c '[ "$(cat /sys/class/net/ib0/carrier)" = 1 ]' || return 1
	if [ "$(cat /sys/class/net/ib0/mtu)" -ge 1280 ]; then
		ip addr add "$(ib_ip6)/64" dev ib0 nodad
		wait_for 20 sh -c "ip -6 addr show dev ib0 scope link | grep -q fe80 && ! ip -6 addr show dev ib0 | grep -q tentative"
	fi
}

teardown_ipoib() {
	if ! timeout 90 modprobe -r ib_ipoib; then
		echo "# FAIL modprobe -r ib_ipoib did not finish in 90 s; blocked tasks:"
		echo w >/proc/sysrq-trigger
		dmesg | tail -n 80 | sed 's/^/#   /'
		FAILED=1
		return 1
	fi
	rdma link delete rxe0 2>/dev/null
	modprobe -r rdma_rxe
	ip link set eth0 mtu 1500
}

# The 20-byte hardware address of ib0, as ip prints it.
ib_lladdr() { cat /sys/class/net/ib0/address; }

# opensm's partitions for the IPoIB tests on the software ConnectX-3: the
# default partition and P_Key 0x8001, each with an IPoIB broadcast group of
# MTU 4K; model_start hands the file to opensm.
model_partitions() {
	PARTITIONS=/tmp/partitions.conf
	cat >$PARTITIONS <<-'CONF'
	Default=0x7fff, ipoib, mtu=5 : ALL=full;
	P1=0x8001, ipoib, mtu=5 : ALL=full;
	CONF
	export PARTITIONS
}

# Which mlx4_ib the model tests run on: the C one, or ours in the runs marked
# ":rust_mlx4_ib" (kernel parameter ipoibrs.mlx4_ib=rust, see run.sh).
MLX4_IB=c
grep -q 'ipoibrs.mlx4_ib=rust' /proc/cmdline 2>/dev/null && MLX4_IB=rust

# loaded_mlx4_ib: the loaded mlx4_ib is the one this run is for ($MLX4_IB).
loaded_mlx4_ib() {
	if [ "$MLX4_IB" = rust ]; then
		loaded_ours mlx4_ib || { echo "the loaded mlx4_ib is not ours"; return 1; }
	else
		loaded_c mlx4_ib || { echo "the loaded mlx4_ib is not the kernel's C one"; return 1; }
	fi
}

# The software ConnectX-3 (tests under mlx4_model/): load the C mlx4_ib on it,
# run opensm on mlx4_0 (PARTITIONS: an optional partitions.conf) and wait for
# both ports to be ACTIVE.
MODEL_SM_GUID=0x0002c90300a00001
model_start() {
	modprobe mlx4_ib || return 1
	loaded_mlx4_ib || return 1
	modprobe ib_umad || return 1
	wait_for 20 test -e /sys/class/infiniband/mlx4_1/ports/1/state || return 1
	# A log of its own: opensm appends, and earlier tests' opensm logged theirs.
	rm -f /tmp/opensm.log
	set -- -g $MODEL_SM_GUID -B -f /tmp/opensm.log
	[ -n "${PARTITIONS:-}" ] && set -- "$@" -P "$PARTITIONS"
	opensm "$@" >/tmp/opensm.out 2>&1 || return 1
	wait_for 60 sh -c "grep -q ACTIVE /sys/class/infiniband/mlx4_0/ports/1/state &&
		grep -q ACTIVE /sys/class/infiniband/mlx4_1/ports/1/state"
}

# model_ipoib_netns: ib0 into namespace a (10.9.0.1, fd00:9::1), ib1 into b
# (10.9.0.2, fd00:9::2), both up, answering broadcast pings.
model_ipoib_netns() {
	ip netns add a || return 1
	ip netns add b || return 1
	ip link set ib0 netns a || return 1
	ip link set ib1 netns b || return 1
	for _ns in a b; do
		ip -n $_ns link set lo up
		ip netns exec $_ns sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=0
	done
	ip -n a addr add 10.9.0.1/24 dev ib0 &&
		ip -n a addr add fd00:9::1/64 dev ib0 nodad &&
		ip -n b addr add 10.9.0.2/24 dev ib1 &&
		ip -n b addr add fd00:9::2/64 dev ib1 nodad &&
		ip -n a link set ib0 up &&
		ip -n b link set ib1 up
}

# model_ipoib_diag: what ib0 (namespace a) and ib1 (namespace b) hold, and the
# ports' Q_Key and P_Key violation counters, when traffic between them fails.
model_ipoib_diag() {
	for i in a:ib0 b:ib1; do
		ns=${i%%:*} dev=${i#*:}
		echo "--- $dev"
		ip netns exec $ns ethtool -S $dev | tr -s ' \n' ' '
		echo
		ip -n $ns -s link show dev $dev
		ip -n $ns neigh show dev $dev
		grep -A3 GID /sys/kernel/debug/ipoib/${dev}_mcg | grep -E 'GID|complete'
		cat /sys/kernel/debug/ipoib/${dev}_path
		ip netns exec $ns cat /sys/class/net/$dev/carrier
	done
	for lid in 1 2; do
		echo "--- LID $lid: $(smpquery portinfo $lid 1 2>&1 | grep -E 'Violations|LID|LinkState' | tr -s '.\n' ' ')"
	done
	saquery --smkey 1 -m 2>&1 | grep -E 'MGID|Mlid|PortGid|Qkey|JoinState' | head -n 24
	rdma res show qp | grep -v ' RC '
	rdma res show cq
	dmesg | grep -E 'ib_ipoib|mlx4|ipoib' | tail -n 30
}

model_stop() {
	# opensm sometimes ignores SIGTERM while its sweep waits on MADs: then SIGKILL.
	pkill -x opensm
	if ! wait_for 15 sh -c "! pgrep -x opensm"; then
		pkill -9 -x opensm
		if ! wait_for 15 sh -c "! pgrep -x opensm"; then
			echo "opensm did not exit"
			return 1
		fi
	fi
	modprobe -r ib_ipoib 2>/dev/null
	# Users of the devices (a test's verbs process, opensm's umad files) may take a moment
	# to be gone after they exited.
	if ! wait_for 30 modprobe -r ib_umad mlx4_ib mlx4_model; then
		lsmod | grep -E 'mlx4|ib_' 
		return 1
	fi
}

# swiotlb_bounced: under swiotlb=force (the ":swiotlb" runs), the DMA really went
# through bounce buffers; elsewhere nothing to check.
swiotlb_bounced() {
	grep -q 'swiotlb=[^ ]*force' /proc/cmdline || return 0
	_hw=$(cat /sys/kernel/debug/swiotlb/io_tlb_used_hiwater 2>/dev/null)
	echo "swiotlb slots used at most: ${_hw:-unknown}"
	[ "${_hw:-0}" -gt 0 ]
}

# perftest_flowing FILE: a perftest run with --run_infinitely, whose output is
# FILE, reported a period with a non-zero average bandwidth.
perftest_flowing() {
	awk '$1 ~ /^[0-9]+$/ && NF >= 5 && $4 + 0 > 0 { ok = 1 } END { exit !ok }' "$1"
}
