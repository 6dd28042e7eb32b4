#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The software ConnectX-3 with the old caps subset (32-byte CQEs, no reserved
# lkey, no IPoIB offloads: mlx4_model cqe_size=32 rsvd_lkey=0 offloads=0) still
# runs the C drivers: the
# devices, verbs and ipoib tests again, each asserting those caps took effect.
# timeout: 600
# mlx4_ib: both
# exercises: reference
. "$(dirname "$0")/../lib.sh"

here=$(dirname "$0")
conf=/etc/modprobe.d/mlx4_model-legacy.conf
check "mlx4_model not loaded yet" test ! -d /sys/module/mlx4_model
echo "options mlx4_model cqe_size=32 rsvd_lkey=0 offloads=0" >$conf
trap 'rm -f $conf' EXIT
export MODEL_CAPS=legacy
for t in devices verbs ipoib; do
	echo "# --- $t.sh with cqe_size=32 rsvd_lkey=0 offloads=0"
	if sh "$here/$t.sh" >/tmp/legacy_caps.log 2>&1; then
		grep -E 'cqe_size|rsvd_lkey|offloads|UD_IP_CSUM|TSO|ABI version' /tmp/legacy_caps.log | sed 's/^/#   /'
		echo "# ok $t.sh passes with the old caps"
	else
		sed 's/^/#   /' /tmp/legacy_caps.log
		fail "$t.sh with the old caps"
	fi
done
finish
