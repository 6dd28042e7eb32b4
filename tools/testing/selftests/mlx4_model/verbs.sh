#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Userspace verbs between mlx4_0 and mlx4_1 through libmlx4 on the software
# ConnectX-3: the rdma-core pingpongs with their buffers validated, perftest's
# bandwidth and latency tools, RC data checked byte for byte (pyverbs), and a
# UD send error taking the QP to SQE and back to RTS, an SRQ limit event, and an
# RC INIT to RTR without a destination QP or path refused with EINVAL, and RC
# PSNs, retries and path MTUs checked as on a wire (pyverbs, rc_wire.py);
# malformed commands through the raw uverbs interface get C's errno
# (uverbs_bad.py), and the device works on after processes are closed or killed
# with objects alive.
# timeout: 600
# mlx4_ib: both
# exercises: reference
. "$(dirname "$0")/../lib.sh"

check "mlx4_ib and opensm up, both ports ACTIVE" model_start
ip link set lo up

# pair NAME CMD...: server on mlx4_0, client on mlx4_1 over loopback TCP.
pair() {
	name=$1
	shift
	timeout 120 "$@" -d mlx4_0 >/tmp/srv.out 2>&1 &
	spid=$!
	sleep 2
	timeout 120 "$@" -d mlx4_1 127.0.0.1 >/tmp/cli.out 2>&1
	crc=$?
	wait $spid
	src=$?
	sed 's/^/#   /' /tmp/cli.out | tail -n 3
	[ $crc = 0 ] && [ $src = 0 ]
}
check "ibv_rc_pingpong (validated, 4096 B)" pair rc ibv_rc_pingpong -c -n 200 -s 4096
check "ibv_rc_pingpong (validated, 64 KiB)" pair rc ibv_rc_pingpong -c -n 50 -s 65536
check "ibv_ud_pingpong (validated)" pair ud ibv_ud_pingpong -c -n 200 -s 2048
check "ibv_srq_pingpong (validated, 4 QPs)" pair srq ibv_srq_pingpong -c -n 100 -q 4
check "ib_send_bw" pair send_bw ib_send_bw -n 500
check "ib_write_bw" pair write_bw ib_write_bw -n 500
check "ib_read_bw" pair read_bw ib_read_bw -n 500
check "ib_atomic_bw" pair atomic_bw ib_atomic_bw -n 500
check "ib_send_lat" pair send_lat ib_send_lat -n 500
check "ib_send_bw UD" pair send_bw_ud ib_send_bw -c UD -n 500
/usr/bin/python3 "$(dirname "$0")/rdma_verify.py" >/tmp/verify.out 2>&1
vrc=$?
cat /tmp/verify.out
[ $vrc = 0 ] || fail "RC data checks (pyverbs)"
# A UD send error takes the QP to SQE, not ERR; the receive queue works on, and SQE -> RTS.
/usr/bin/python3 "$(dirname "$0")/ud_verify.py" sqe >/tmp/sqe.out 2>&1
src=$?
cat /tmp/sqe.out
[ $src = 0 ] || fail "UD send error and SQE recovery (pyverbs)"
# An SRQ's limit event: armed, not raised above the limit, raised below it.
/usr/bin/python3 "$(dirname "$0")/ud_verify.py" srq >/tmp/srq.out 2>&1
src=$?
cat /tmp/srq.out
[ $src = 0 ] || fail "SRQ limit event (pyverbs)"
# INIT to RTR without the fields it requires is refused.
/usr/bin/python3 "$(dirname "$0")/ud_verify.py" rtr >/tmp/rtr.out 2>&1
src=$?
cat /tmp/rtr.out
[ $src = 0 ] || fail "RTR without its required fields (pyverbs)"
# PSNs and path MTUs as an RC wire would check them.
/usr/bin/python3 "$(dirname "$0")/rc_wire.py" >/tmp/wire.out 2>&1
src=$?
cat /tmp/wire.out
[ $src = 0 ] || fail "RC PSNs and path MTUs (pyverbs)"
# Malformed commands through the raw uverbs interface, each with C's errno; a
# context closed with its objects alive; the device serves the next one.
/usr/bin/python3 "$(dirname "$0")/uverbs_bad.py" mlx4_0 >/tmp/bad.out 2>&1
brc=$?
sed 's/^/# /' /tmp/bad.out
[ $brc = 0 ] || fail "malformed user verbs (raw uverbs commands)"
# Processes killed mid-stream (SIGKILL: the core cleans up after them).
ib_write_bw -d mlx4_0 --run_infinitely -D 2 >/tmp/ksrv.out 2>&1 &
ksrv=$!
sleep 2
ib_write_bw -d mlx4_1 --run_infinitely -D 2 127.0.0.1 >/tmp/kcli.out 2>&1 &
kcli=$!
check "RDMA WRITEs flowing (ib_write_bw reports bandwidth)" \
	wait_for 30 perftest_flowing /tmp/kcli.out
kill -9 $kcli $ksrv
wait $kcli $ksrv 2>/dev/null
check "ibv_rc_pingpong after both ends were killed mid-stream" \
	pair rc ibv_rc_pingpong -c -n 50 -s 4096
check "opensm stops, modules unload" model_stop
check "no leak (kmemleak)" kmemleak_check
finish
