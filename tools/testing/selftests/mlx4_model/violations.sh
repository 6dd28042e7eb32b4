#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The software ConnectX-3's checks of what only a kernel driver writes fire:
# with mlx4_model's `inject` parameter the model corrupts, once, what the C
# mlx4_ib wrote, as a buggy driver would have written it (an SMP without VL15,
# an MLX WQE without its ICRC segment, one whose DETH names another source QP,
# a misaligned MTT entry). Each is a
# counted driver violation with its own message, the SMP/MAD is not delivered
# or the registration fails with EINVAL, and the fabric works on afterwards.
# timeout: 300
# mlx4_ib: both
# exercises: reference
. "$(dirname "$0")/../lib.sh"

P=/sys/module/mlx4_model/parameters
check "mlx4_ib and opensm up, both ports ACTIVE" model_start
check "the loaded mlx4_ib is the one of this run ($MLX4_IB)" loaded_mlx4_ib
check_eq "no violation so far" 0 "$(cat $P/violations)"
lid1=$(cat /sys/class/infiniband/mlx4_1/ports/1/lid)

# inject N MESSAGE COMMAND...: arm fault N, run COMMAND until the model took it,
# and expect one more violation whose message has MESSAGE.
inject() {
	_n=$1 _msg=$2
	shift 2
	_v=$(cat $P/violations)
	echo "$_n" >$P/inject
	_end=$(($(date +%s) + 30))
	while [ "$(cat $P/inject)" != 0 ] && [ "$(date +%s)" -lt $_end ]; do
		"$@" >/dev/null 2>&1
	done
	[ "$(cat $P/inject)" = 0 ] || { echo "fault $_n was never taken"; return 1; }
	[ "$(cat $P/violations)" = $((_v + 1)) ] || { echo "violations: $_v -> $(cat $P/violations)"; return 1; }
	dmesg | grep "expected driver violation" | tail -n 1
	dmesg | grep "expected driver violation" | tail -n 1 | grep -q "$_msg"
}
echo 1 >$P/expect_violations
check "an SMP without VL15 is a violation" \
	inject 1 "SMP without VL15" smpquery -t 200 nodeinfo $(($lid1))
check "an MLX WQE without ICRC is a violation" \
	inject 2 "no ICRC segment" saquery -t 200 -s
check "an MLX WQE with another DETH source QP is a violation" \
	inject 6 "DETH source QP is not the sending special QP" saquery -t 200 -s
cat >/tmp/mr.py <<'PY'
import sys
from pyverbs.device import Context
from pyverbs.mr import MR
from pyverbs.pd import PD
import pyverbs.enums as e
pd = PD(Context(name="mlx4_0"))
try:
    MR(pd, 1 << 16, e.IBV_ACCESS_LOCAL_WRITE)
except Exception as err:
    print("registration failed:", err)
    sys.exit(1)
PY
check "a misaligned MTT entry is a violation" \
	inject 3 "is not a 4096-byte page of RAM" sh -c "! python3 /tmp/mr.py"
echo 0 >$P/expect_violations
check "the registration after it works" python3 /tmp/mr.py
check "LID-routed SMP after the faults" smpquery nodeinfo $(($lid1))
check "the SA answers after the faults" sh -c "saquery -s >/dev/null"
check "opensm stops, modules unload" model_stop
check "no leak (kmemleak)" kmemleak_check
finish
