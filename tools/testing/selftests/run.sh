#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the VM selftests and print TAP 13 and a summary line.
#
#   run.sh [-n 1|2] [-o DIR] [TEST...]
#
# TEST is a path relative to this directory (default: every */*.sh). The
# tests run in two VMs by default (in step; each test runs in both), on the
# cached debug kernel, with ib_ipoib.ko and mlx4_ib.ko from the repository
# root. Tests under mlx4_model/ run afterwards in one VM with mlx4_model.ko
# (the software ConnectX-3) and the kernel's own C drivers, and those marked
# "# swiotlb: yes" once more in a VM with swiotlb=force (reported as
# ID:swiotlb). A test passes when it passes in every VM and left no kernel
# splat. Logs are kept in DIR (default ${TMPDIR:-/tmp}/ipoib-rs-selftests, and
# DIR-model, DIR-swiotlb, DIR-rust and DIR-pkg).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
nvms=2
out=${TMPDIR:-/tmp}/ipoib-rs-selftests
while getopts "n:o:" opt; do
	case "$opt" in
	n) nvms=$OPTARG ;;
	o) out=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))

cd "$here"
if [ $# -gt 0 ]; then
	tests=("$@")
else
	# stress/ holds the long repetitions of `make stress`.
	mapfile -t tests < <(ls -1 */*.sh | grep -v '^stress/' | sort)
fi

for ko in ib_ipoib.ko mlx4_ib.ko mlx4_model.ko mlx4_ib_pair.ko; do
	[ -f "$repo/$ko" ] || { echo "run.sh: $ko not built (make modules)" >&2; exit 1; }
done

# Tests under mlx4_model/ run in one VM holding the software ConnectX-3 (its
# two HCAs are cabled to each other) with the kernel's C drivers; the others in
# the two soft-RoCE VMs with our modules. Model tests marked "# mlx4_ib: both"
# (kernel verbs only) run a second time with our mlx4_ib in place of the C one
# (reported as ID:rust_mlx4_ib). Model tests marked "# swiotlb: yes"
# (kernel DMA only: bounce buffers would hide user memory from the HCA) run a
# second time in a VM booted with swiotlb=force, so that a driver that reads a
# buffer before unmapping (or syncing) it sees stale data.
#
# Tests under packaging/ (the DKMS package, built inside vm a under TCG: most
# of half an hour, during which vm b idles) run in a VM pair of their own,
# beside the one-VM groups, so that two vCPUs are busy as in the soft-RoCE
# group, and make check stays within its time.
fabric=() model=() swio=() rust=() pkg=()
for t in "${tests[@]}"; do
	case "$t" in
	packaging/*) pkg+=("$t") ;;
	mlx4_model/*)
		model+=("$t")
		grep -q '^# swiotlb: yes' "$t" && swio+=("$t")
		grep -q '^# mlx4_ib: both' "$t" && rust+=("$t")
		;;
	*) fabric+=("$t") ;;
	esac
done

# run_group DIR NVMS VMARGS... -- TESTS...: one VM run; its rc in DIR.rc.
run_group() {
	local dir=$1 n=$2
	shift 2
	local args=()
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	# Each test's own deadline, plus boot and kmemleak set-up time.
	local budget=300 t tt
	for t in "$@"; do
		tt=${SELFTEST_TIMEOUT:-$(sed -n 's/^# timeout: *\([0-9]*\).*/\1/p' "$t")}
		budget=$((budget + ${tt:-300}))
	done
	"$repo/tools/testing/vm/run.sh" -n "$n" -q -t "$budget" -o "$dir" "${args[@]}" \
		-- tools/testing/selftests/guest-runner.sh "$@" >"$dir.run.log" 2>&1
	echo $? >"$dir.rc"
}

rm -f "$out.rc" "$out-model.rc" "$out-swiotlb.rc" "$out-rust.rc" "$out-pkg.rc"
if [ ${#fabric[@]} -gt 0 ]; then
	run_group "$out" "$nvms" -k "$repo/ib_ipoib.ko" -k "$repo/mlx4_ib.ko" -- "${fabric[@]}"
fi
pkg_pid=
if [ ${#pkg[@]} -gt 0 ]; then
	run_group "$out-pkg" "$nvms" -k "$repo/ib_ipoib.ko" -k "$repo/mlx4_ib.ko" -- "${pkg[@]}" &
	pkg_pid=$!
fi
if [ ${#model[@]} -gt 0 ]; then
	run_group "$out-model" 1 -m -k "$repo/mlx4_model.ko" -- "${model[@]}"
fi
# Our mlx4_ib under updates/ (ranked above the kernel's), and the tests told to expect it.
if [ ${#rust[@]} -gt 0 ]; then
	run_group "$out-rust" 1 -m -a ipoibrs.mlx4_ib=rust -k "$repo/mlx4_model.ko" \
		-k "$repo/mlx4_ib.ko" -- "${rust[@]}"
fi
if [ ${#swio[@]} -gt 0 ]; then
	run_group "$out-swiotlb" 1 -m -a swiotlb=65536,force -k "$repo/mlx4_model.ko" -- "${swio[@]}"
fi

[ -n "$pkg_pid" ] && wait "$pkg_pid"

pass=0 fail=0 skipped=0 n=0 ours=0 ref=0
echo "TAP version 13"
echo "1..$((${#tests[@]} + ${#swio[@]} + ${#rust[@]}))"
for t in "${fabric[@]}" "${pkg[@]}" "${model[@]}" "${rust[@]/%/@rust}" "${swio[@]/%/@swiotlb}"; do
	n=$((n + 1))
	case "$t" in
	*@swiotlb) t=${t%@swiotlb} dir=$out-swiotlb vms=(a) suffix=:swiotlb ;;
	*@rust) t=${t%@rust} dir=$out-rust vms=(a) suffix=:rust_mlx4_ib ;;
	mlx4_model/*) dir=$out-model vms=(a) suffix= ;;
	packaging/*) dir=$out-pkg vms=(a) suffix=; [ "$nvms" = 2 ] && vms+=(b) ;;
	*) dir=$out vms=(a) suffix=; [ "$nvms" = 2 ] && vms+=(b) ;;
	esac
	id=$(echo "$t" | sed 's/\.sh$//; s,/,:,g')
	status=pass
	nskip=0
	# What a pass is evidence of: our modules, or the C reference drivers and the harness
	# (the software ConnectX-3 under the C mlx4_ib). Every test says which, and asserts it.
	what=$(sed -n 's/^# exercises: *\([a-z]*\).*/\1/p' "$t")
	# On our mlx4_ib, a test of the C drivers exercises ours.
	[ "$suffix" = :rust_mlx4_ib ] && what=ours
	case "$what" in
	ours | reference) ;;
	*) echo "# $t has no '# exercises: ours|reference' line"; status=fail ;;
	esac
	for vm in "${vms[@]}"; do
		rc=$(awk -v id="$id" '$1 == id { print $2 }' "$dir/xch/$vm.results" 2>/dev/null)
		case "$rc" in
		0) ;;
		4) nskip=$((nskip + 1)) ;;
		*) status=fail ;;
		esac
	done
	[ "$status" = pass ] && [ "$nskip" = "${#vms[@]}" ] && status=skip
	case "$status" in
	pass)
		echo "ok $n $id$suffix"
		pass=$((pass + 1))
		if [ "$what" = ours ]; then ours=$((ours + 1)); else ref=$((ref + 1)); fi
		;;
	skip) echo "ok $n $id$suffix # SKIP"; skipped=$((skipped + 1)) ;;
	fail) echo "not ok $n $id$suffix"; fail=$((fail + 1)) ;;
	esac
	if [ "$status" != pass ] || [ -n "${VERBOSE:-}" ]; then
		for vm in "${vms[@]}"; do
			log="$dir/xch/$vm.$id.log"
			echo "# --- vm $vm ---"
			if [ -f "$log" ]; then
				sed 's/^\([^#]\)/# \1/' "$log"
			else
				echo "# (did not run)"
			fi
		done
	fi
done
for dir in "$out" "$out-pkg" "$out-model" "$out-rust" "$out-swiotlb"; do
	[ -f "$dir.rc" ] || continue
	if [ "$(cat "$dir.rc")" != 0 ]; then
		echo "# the VM run itself failed (deadline, crash or splat outside a test):"
		sed 's/^/# /' "$dir.run.log" | tail -n 40
		fail=$((fail + 1))
	fi
done
echo "# logs: $out"
echo "selftests: $pass passed (ours: $ours, C reference and harness: $ref), $fail failed, $skipped skipped"
[ "$fail" = 0 ]
