#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The software ConnectX-3 enforces partitions on receive, as the IBA asks: a
# UD datagram reaches a QP only when the packet's P_Key and the QP's are the
# same partition and not both limited members; otherwise it is dropped and
# counted in the receiving port's P_KeyViolations (PortInfo). An RC responder
# drops what it does not share, and the requester ends in "retry exceeded".
# Datagrams and SENDs through libmlx4 under the partitions opensm programmed.
# timeout: 300
# mlx4_ib: both
# exercises: reference
. "$(dirname "$0")/../lib.sh"

PARTITIONS=/tmp/partitions.conf
cat >$PARTITIONS <<'CONF'
Default=0x7fff : ALL=full;
P1=0x8001 : ALL=full;
P2=0x8002 : ALL=limited;
CONF
export PARTITIONS
check "mlx4_ib and opensm up, both ports ACTIVE" model_start
check "the loaded mlx4_ib is the one of this run ($MLX4_IB)" loaded_mlx4_ib

# index_of DEV KEY: the index of P_Key KEY (0x8002 also matches its limited 0x0002).
index_of() {
	for f in /sys/class/infiniband/$1/ports/1/pkeys/*; do
		k=$(cat "$f")
		[ $((k & 0x7fff)) = $(($2 & 0x7fff)) ] && { echo "${f##*/} $k"; return; }
	done
}
check "opensm programmed P_Key 0x8001 on mlx4_1" \
	wait_for 20 sh -c "grep -qx 0x8001 /sys/class/infiniband/mlx4_1/ports/1/pkeys/*"
check "opensm programmed P_Key 0x8002 (limited) on mlx4_1" \
	wait_for 20 sh -c "grep -qx 0x0002 /sys/class/infiniband/mlx4_1/ports/1/pkeys/*"
set -- $(index_of mlx4_0 0x8001); a1=$1
set -- $(index_of mlx4_1 0x8001); b1=$1
set -- $(index_of mlx4_0 0x8002); a2=$1 a2k=$2
set -- $(index_of mlx4_1 0x8002); b2=$1 b2k=$2
echo "# mlx4_0: 0x8001 at $a1, $a2k at $a2; mlx4_1: 0x8001 at $b1, $b2k at $b2"
lid1=$(cat /sys/class/infiniband/mlx4_1/ports/1/lid)
violations() {
	smpquery portinfo $(($lid1)) 1 | sed -n 's/^PkeyViolations:\.*//p'
}
v0=$(violations)
check "mlx4_1 PkeyViolations readable ($v0)" test -n "$v0"
verify() { python3 "$(dirname "$0")/ud_verify.py" pkey "$@"; }
check "0xffff -> 0xffff: delivered" verify 0 0 deliver
check "0x8001 -> 0xffff: dropped" verify "$a1" 0 drop
check_eq "mlx4_1 PkeyViolations +1" $((v0 + 1)) "$(violations)"
check "0x8001 -> 0x8001: delivered" verify "$a1" "$b1" deliver
check "0xffff -> 0x8001: dropped" verify 0 "$b1" drop
check_eq "mlx4_1 PkeyViolations +2" $((v0 + 2)) "$(violations)"
# Two limited members cannot talk; a full and a limited one can.
if [ $((a2k & 0x8000)) = 0 ] && [ $((b2k & 0x8000)) = 0 ]; then
	check "limited $a2k -> limited $b2k: dropped" verify "$a2" "$b2" drop
	check_eq "mlx4_1 PkeyViolations +3" $((v0 + 3)) "$(violations)"
else
	check "$a2k -> $b2k (one of them full): delivered" verify "$a2" "$b2" deliver
fi
# RC: the responder drops what it does not share; the requester exhausts its retries.
v=$(violations)
check "RC 0x8001 -> 0x8001: delivered" python3 "$(dirname "$0")/ud_verify.py" rc "$a1" "$b1" deliver
check "RC 0x8001 -> 0xffff: retry exceeded" python3 "$(dirname "$0")/ud_verify.py" rc "$a1" 0 drop
check_eq "mlx4_1 PkeyViolations +1 for the RC SEND" $((v + 1)) "$(violations)"
check "the IPoIB-less fabric still answers the SA (QP1 under P_Key 0xffff)" \
	sh -c "saquery -s >/dev/null"

check "opensm stops, modules unload" model_stop
check "no leak (kmemleak)" kmemleak_check
finish
