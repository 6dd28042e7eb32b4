#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`, run in both VMs on the bench kernel (no debug options): in one
# boot, TCP over ib0 (datagram mode), ib_send_bw UD at the same IB MTU over the
# same soft-RoCE pair, and TCP over eth0; then connected mode: the memory its
# resources take, TCP over ib0 at MTU 65520 and ib_send_bw RC with 64 KiB
# messages; vm a prints the figures and ratios.
. "$REPO/tools/testing/selftests/lib.sh"

UNDERLAY_MTU=${BENCH_MTU:-1500}
T=${BENCH_SECONDS:-10}

setup_underlay_ip
setup_ipoib "$UNDERLAY_MTU" || { echo "setup failed"; exit 1; }
ib_mtu=$(( $(cat /sys/class/net/ib0/mtu) + 4 ))

if [ "$VM_NAME" = b ]; then
	iperf3 -s -D -B "$(ib_ip4)" -p 5201
	iperf3 -s -D -B "$(underlay_ip)" -p 5202
	put ready 1
	get ibtcp_done 300 >/dev/null
	ib_send_bw -d rxe0 -x 0 -c UD -m "$ib_mtu" -D "$T" -F --report_gbits >/tmp/sbw.out 2>&1 &
	put sbw_ready 1
	get done 300 >/dev/null
	echo connected >/sys/class/net/ib0/mode
	iperf3 -s -D -B "$(ib_ip4)" -p 5203
	put cm_ready 1
	get cmtcp_done 300 >/dev/null
	ib_send_bw -d rxe0 -x 0 -c RC -s 65536 -m "$ib_mtu" -D "$T" -F --report_gbits >/tmp/sbw_rc.out 2>&1 &
	put rc_ready 1
	get all_done 300 >/dev/null
	exit 0
fi

get ready 60 >/dev/null
mbps() { python3 -c "import json,sys;d=json.load(open(sys.argv[1]));print(round(d['end']['sum_received']['bits_per_second']/1e6,1))" "$1"; }
iperf3 -c "$(ib_ip4 b)" -p 5201 -t "$T" -J >/tmp/ib.json && ib=$(mbps /tmp/ib.json)
put ibtcp_done 1
get sbw_ready 60 >/dev/null
sleep 2
ib_send_bw -d rxe0 -x 0 -c UD -m "$ib_mtu" -D "$T" -F --report_gbits "$(underlay_ip b)" >/tmp/sbw.out 2>&1
# The result line: bytes, iterations, BW peak, BW average [Gb/s], message rate.
sbw=$(awk '$1 ~ /^[0-9]+$/ && NF >= 5 { bw = $4 } END { if (bw != "") printf "%.1f", bw * 1000 }' /tmp/sbw.out)
iperf3 -c "$(underlay_ip b)" -p 5202 -t "$T" -J >/tmp/eth.json && eth=$(mbps /tmp/eth.json)
put done 1

# Connected mode: what its resources take (MemAvailable before and after),
# then TCP at MTU 65520 and RC sends of 64 KiB.
avail() { sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
sync; echo 3 >/proc/sys/vm/drop_caches; sleep 1
m0=$(avail)
echo connected >/sys/class/net/ib0/mode
sleep 1
m1=$(avail)
cm_kib=$((m0 - m1))
get cm_ready 60 >/dev/null
iperf3 -c "$(ib_ip4 b)" -p 5203 -t "$T" -J >/tmp/cm.json && cm=$(mbps /tmp/cm.json)
put cmtcp_done 1
get rc_ready 60 >/dev/null
sleep 2
ib_send_bw -d rxe0 -x 0 -c RC -s 65536 -m "$ib_mtu" -D "$T" -F --report_gbits "$(underlay_ip b)" >/tmp/sbw_rc.out 2>&1
rc=$(awk '$1 ~ /^[0-9]+$/ && NF >= 5 { bw = $4 } END { if (bw != "") printf "%.1f", bw * 1000 }' /tmp/sbw_rc.out)
put all_done 1

echo
echo "bench: underlay MTU $UNDERLAY_MTU, ib0 MTU $((ib_mtu - 4)), ${T}s each, kernel without debug options"
echo "bench: ib0 TCP (iperf3)          ${ib:-?} Mbit/s"
echo "bench: ib_send_bw UD ${ib_mtu} B    ${sbw:-?} Mbit/s"
echo "bench: eth0 TCP (iperf3)         ${eth:-?} Mbit/s"
echo "bench: connected mode resources  ${cm_kib} KiB (MemAvailable drop on entering it)"
echo "bench: ib0 TCP connected, MTU 65520  ${cm:-?} Mbit/s"
echo "bench: ib_send_bw RC 64 KiB      ${rc:-?} Mbit/s"
python3 - "$ib" "$sbw" "$eth" "$cm" "$rc" <<'PY'
import sys
try:
    ib, sbw, eth, cm, rc = (float(x) for x in sys.argv[1:6])
    print(f"bench: ratio ib0/ib_send_bw     {ib / sbw:.2f}")
    print(f"bench: ratio ib0/eth0           {ib / eth:.2f}")
    print(f"bench: ratio ib0 CM/ib_send_bw RC  {cm / rc:.2f}")
except (ValueError, ZeroDivisionError):
    print("bench: a measurement failed; see above")
    sys.exit(1)
PY
