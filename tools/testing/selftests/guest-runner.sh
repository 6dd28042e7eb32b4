#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs selftests inside a test VM (started by tools/testing/vm/run.sh): each
# test in turn, in step with the other VM, with a deadline, and fails a test
# whose run left a kernel splat in dmesg. Results go to $XCH/$VM_NAME.results
# as "ID STATUS" lines (STATUS: 0 pass, 4 skip, other fail); each test's output
# to $XCH/$VM_NAME.ID.log.
#
#   guest-runner.sh TEST...   (paths relative to tools/testing/selftests)

here=$(dirname "$0")
. "$here/lib.sh"
splats="$REPO/tools/testing/vm/splats.txt"
results="$XCH/$VM_NAME.results"
: >"$results"

n=0
blind=
for t in "$@"; do
	n=$((n + 1))
	id=$(echo "$t" | sed 's/\.sh$//; s,/,:,g')
	barrier "start-$n" 1800 || { echo "$id 1" >>"$results"; break; }
	timeout=${SELFTEST_TIMEOUT:-$(sed -n 's/^# timeout: *\([0-9]*\).*/\1/p' "$here/$t")}
	echo "ipoib-rs-selftest: start $id" >/dev/kmsg
	log="$XCH/$VM_NAME.$id.log"
	start=$(date +%s)
	{
		[ -n "$blind" ] && echo "# NOTE: runs after a kernel splat in $blind in this boot" \
			"(lockdep and WARN_ONCE checks may be spent)"
		grep -q '^ *debug_locks: *0' /proc/lockdep_stats 2>/dev/null &&
			echo "# NOTE: lockdep is off in this boot (turned off by an earlier report)"
	} >"$log"
	TEST_ID=$id timeout -k 5 "${timeout:-300}" sh "$here/$t" >>"$log" 2>&1
	rc=$?
	[ $rc = 124 ] && echo "# FAIL timed out after ${timeout:-300}s" >>"$log"
	echo "ipoib-rs-selftest: end $id" >/dev/kmsg
	dmesg >/tmp/dmesg.all
	if ! grep -q "ipoib-rs-selftest: start $id\$" /tmp/dmesg.all; then
		# The scan below would see nothing: never let that pass.
		echo "# FAIL the kernel log lost the test's start marker (log buffer wrapped)" >>"$log"
		rc=1
	elif sed -n "/ipoib-rs-selftest: start $id\$/,\$p" /tmp/dmesg.all | grep -E -f "$splats" >/tmp/splat; then
		echo "# FAIL kernel splat during the test:" >>"$log"
		sed -n "/ipoib-rs-selftest: start $id\$/,\$p" /tmp/dmesg.all | head -n 80 | sed 's/^/#   /' >>"$log"
		rc=1
	fi
	# Lockdep switches itself off after its first report, and WARN_ONCE fires once a boot:
	# the tests after a splat run with fewer checkers, and say so.
	if [ -z "$blind" ] && grep -E -q -f "$splats" /tmp/dmesg.all; then
		blind=$id
	fi
	echo "# ($(($(date +%s) - start))s)" >>"$log"
	echo "$id $rc" >>"$results"
	echo "vm $VM_NAME: $id -> $rc"
	barrier "end-$n" 1800 || break
done
