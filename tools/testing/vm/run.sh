#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot one or two test VMs on the cached kernel and run a command in each.
#
#   run.sh [-n 1|2] [-f debug|bench] [-m] [-t SECONDS] [-k KO]... [-o DIR] [-q] [-a PARAM]...
#          -- CMD [ARG]...
#
#   -n  number of VMs (default 2). With two, their virtio NICs are cabled to
#       each other through a QEMU stream netdev over a unix socket; with one,
#       the NIC is a restricted user-mode netdev (no host network either way).
#   -f  kernel flavour (default debug)
#   -m  model VMs: two ivshmem-plain PCI devices each (the UAR BARs of the
#       software ConnectX-3, tools/testing/mlx4_model) and a module tree
#       without the real mlx4_core (the model exports its symbols)
#   -t  deadline in seconds for the whole run; QEMU is killed at the deadline
#   -k  an out-of-tree module to install under updates/ (repeatable)
#   -o  keep the run directory here (default: a temporary one, removed)
#   -q  do not print the guests' output
#   -a  a kernel command-line parameter to add (repeatable)
#
# CMD runs in each guest from the repository root with VM_NAME=a|b,
# NVMS=1|2, XCH=/run/xch (a directory shared by the host and all guests) and
# KBUILD (the kernel's build directory, which the guest sees at the same path)
# and HOST_HOME (the host user's home, where rustup keeps the toolchain).
# Exit status: 0 when every guest command exited 0, no guest hit the deadline
# and no guest's dmesg holds a kernel splat (see splats.txt).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)

nvms=2
flavour=debug
deadline=1800
kos=()
outdir=
quiet=0
model=0
append=
while getopts "n:f:mt:k:o:qa:" opt; do
	case "$opt" in
	a) append="$append $OPTARG" ;;
	n) nvms=$OPTARG ;;
	f) flavour=$OPTARG ;;
	m) model=1 ;;
	t) deadline=$OPTARG ;;
	k) kos+=("$(realpath "$OPTARG")") ;;
	o) outdir=$OPTARG ;;
	q) quiet=1 ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "usage: run.sh [options] -- CMD [ARG]..." >&2; exit 2; }
case "$nvms" in 1 | 2) ;; *) echo "run.sh: -n must be 1 or 2" >&2; exit 2 ;; esac

# IPOIB_RS_KBUILD: another kernel build directory with a staged module tree (the
# in-tree check's, tools/testing/intree/check.sh).
kbuild=${IPOIB_RS_KBUILD:-$("$here/kernel.sh" path "$flavour")}
kver=$(cat "$kbuild/include/config/kernel.release")
bzimage="$kbuild/arch/x86/boot/bzImage"

if [ -n "$outdir" ]; then
	rm -rf "$outdir"
	mkdir -p "$outdir"
	rundir=$(realpath "$outdir")
else
	rundir=$(mktemp -d "${TMPDIR:-/tmp}/ipoib-rs-vm.XXXXXX")
fi
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
	[ -n "$outdir" ] || rm -rf "$rundir"
}
trap cleanup EXIT

# The guests' module tree: the staged kernel modules (hard links, so this is
# cheap) plus ours under updates/, which depmod ranks above the in-tree ones
# of the same name (the C ib_ipoib and mlx4_ib).
mods="$rundir/modroot/lib/modules/$kver"
mkdir -p "$(dirname "$mods")"
cp -al "$kbuild/staging/lib/modules/$kver" "$mods" 2>/dev/null ||
	cp -a "$kbuild/staging/lib/modules/$kver" "$mods"
rm -f "$mods/build" "$mods/source"
if [ "$model" = 1 ]; then
	rm -f "$mods"/kernel/drivers/net/ethernet/mellanox/mlx4/mlx4_{core,en}.ko
fi
if [ ${#kos[@]} -gt 0 ]; then
	mkdir -p "$mods/updates"
	cp "${kos[@]}" "$mods/updates/"
fi
depmod -b "$rundir/modroot" "$kver"

xch="$rundir/xch"
mkdir -p "$xch"
{
	echo "cd '$repo' || exit 1"
	echo "export REPO='$repo' NVMS=$nvms KBUILD='$kbuild' HOST_HOME='$HOME'"
	# The host's SELFTEST_* variables (test knobs such as SELFTEST_ROUNDS) reach the guests.
	while IFS= read -r var; do
		printf 'export %s=%q\n' "$var" "${!var}"
	done < <(compgen -v SELFTEST_ || true)
	printf 'exec'
	printf " %q" "$@"
	echo
} >"$xch/cmd"

# Two 1 MiB ivshmem BARs (256 UAR pages each) for the model's two HCAs.
model_args=()
if [ "$model" = 1 ]; then
	for i in 0 1; do
		model_args+=(-object "memory-backend-ram,id=uar$i,size=1M,share=on"
			-device "ivshmem-plain,memdev=uar$i")
	done
fi

qemu_vm() {
	local vm=$1 mac=$2 net=$3
	qemu-system-x86_64 "${model_args[@]}" -accel tcg -m 2048 -smp 1 -display none -monitor none \
		-no-reboot -serial "file:$rundir/$vm.console" \
		-kernel "$bzimage" \
		-fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap \
		-device virtio-9p-pci,fsdev=root,mount_tag=/dev/root \
		-fsdev local,id=mods,path="$mods",security_model=none,readonly=on \
		-device virtio-9p-pci,fsdev=mods,mount_tag=mods \
		-fsdev local,id=repo,path="$repo",security_model=none,readonly=on,multidevs=remap \
		-device virtio-9p-pci,fsdev=repo,mount_tag=repo \
		-fsdev local,id=xch,path="$xch",security_model=none \
		-device virtio-9p-pci,fsdev=xch,mount_tag=xch \
		-netdev "$net" -device "virtio-net-pci,netdev=n0,mac=$mac" \
		-append "console=ttyS0 root=/dev/root rootfstype=9p rootflags=trans=virtio,version=9p2000.L,cache=loose,msize=262144 ro init=$here/guest-init.sh panic=-1 quiet loglevel=4 log_buf_len=16M ipoibrs.vm=$vm ipoibrs.repo=$repo$append" \
		>"$rundir/$vm.qemu.log" 2>&1 &
	pids+=($!)
}

start=$(date +%s)
if [ "$nvms" = 1 ]; then
	qemu_vm a 52:54:00:12:34:01 "user,id=n0,restrict=on"
else
	sock="$rundir/net.sock"
	qemu_vm a 52:54:00:12:34:01 "stream,id=n0,server=on,addr.type=unix,addr.path=$sock"
	for _ in $(seq 100); do
		[ -S "$sock" ] && break
		sleep 0.1
	done
	qemu_vm b 52:54:00:12:34:02 "stream,id=n0,server=off,addr.type=unix,addr.path=$sock"
fi

timed_out=0
while :; do
	alive=0
	for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
	[ "$alive" = 0 ] && break
	if [ $(($(date +%s) - start)) -ge "$deadline" ]; then
		echo "run.sh: deadline of ${deadline}s reached, killing the VMs" >&2
		timed_out=1
		for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
		break
	fi
	sleep 1
done
wait 2>/dev/null || true

status=0
vms=(a)
[ "$nvms" = 2 ] && vms+=(b)
for vm in "${vms[@]}"; do
	if [ "$quiet" = 0 ]; then
		echo "==== vm $vm output ===="
		cat "$xch/$vm.out" 2>/dev/null || true
	fi
	if [ -f "$xch/$vm.rc" ]; then
		rc=$(cat "$xch/$vm.rc")
	else
		rc=timeout
		echo "run.sh: vm $vm did not finish; last console lines:" >&2
		tail -n 30 "$rundir/$vm.console" >&2 || true
		tail -n 5 "$rundir/$vm.qemu.log" >&2 || true
	fi
	# The guest's dmesg, or its console when it died before saving dmesg,
	# from the point where the guest was up.
	log="$xch/$vm.dmesg"
	[ -f "$log" ] || log="$rundir/$vm.console"
	from='/ipoib-rs: guest .* up/'
	grep -q 'ipoib-rs: guest .* up' "$log" || from=1
	if splats=$(sed -n "$from,\$p" "$log" | grep -E -f "$here/splats.txt"); then
		echo "run.sh: vm $vm: kernel splat:" >&2
		echo "$splats" | head -n 20 >&2
		rc="$rc+splat"
	fi
	echo "run.sh: vm $vm: exit $rc"
	[ "$rc" = 0 ] || status=1
done
[ "$timed_out" = 0 ] || status=1
echo "run.sh: ${nvms} VM(s), $(($(date +%s) - start))s"
exit "$status"
