#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The software ConnectX-3 reads the doorbells the drivers write into the UAR
# pages: traffic over the C ib_ipoib is counted in mlx4_model's `doorbells`;
# a send doorbell naming no QP, one for a QP of another UAR page and a CQ
# doorbell naming no CQ are each a counted driver violation (written here
# straight into the BAR, as a buggy driver would), and the device carries
# traffic on afterwards.
# timeout: 300
# mlx4_ib: both
# exercises: reference
. "$(dirname "$0")/../lib.sh"

P=/sys/module/mlx4_model/parameters
check "mlx4_ib and opensm up, both ports ACTIVE" model_start
check "modprobe ib_ipoib (the kernel's C driver)" modprobe ib_ipoib
check "the loaded ib_ipoib is the C one" loaded_c ib_ipoib
check "ib0 and ib1 in namespaces a and b" model_ipoib_netns
check "ib0 carrier" wait_for 30 ip netns exec a sh -c "[ \$(cat /sys/class/net/ib0/carrier) = 1 ]"
check "ib1 carrier" wait_for 30 ip netns exec b sh -c "[ \$(cat /sys/class/net/ib1/carrier) = 1 ]"

db0=$(cat $P/doorbells)
check "ping (datagram)" pings -n a 20 10.9.0.2
db1=$(cat $P/doorbells)
# Each echo is a send and a receive on both sides: at least 40 send doorbells.
check "20 pings rang at least 40 doorbells ($db0 -> $db1)" test $((db1 - db0)) -ge 40
check_eq "no violation so far" 0 "$(cat $P/violations)"

# The UAR pages are the ivshmem BAR of mlx4_0's PCI device. Page 1 is mlx4_ib's
# kernel UAR (page 0 is reserved); a libmlx4 context opened by uar.py gets another.
bar=$(readlink -f /sys/class/infiniband/mlx4_0/device)/resource2
qpn=$(ip netns exec a cat /sys/class/net/ib0/address | cut -d: -f2-4 | tr -d :)
check "ib0's QPN ($qpn) is a number" test -n "$qpn"
cat >/tmp/uar.py <<'PY'
import mmap, os, struct, sys, time
from pyverbs.device import Context
bar, qpn = sys.argv[1], int(sys.argv[2], 16)
ctx = Context(name="mlx4_0")  # holds a UAR page of its own while open
fd = os.open(bar, os.O_RDWR | os.O_SYNC)
m = mmap.mmap(fd, 4 * 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
def ring(page, off, fmt, *vals):
    m[page * 4096 + off:page * 4096 + off + struct.calcsize(fmt)] = struct.pack(fmt, *vals)
    time.sleep(0.2)
ring(1, 0x14, ">I", 0xfedcba << 8)       # a send doorbell naming no QP
ring(2, 0x14, ">I", qpn << 8)            # ib0's QP, rung on another UAR page
ring(1, 0x20, ">II", 2 << 24 | 0xfffff, 0)  # arm "next" of a CQ that does not exist
PY
echo 1 >$P/expect_violations
v0=$(cat $P/violations)
check "doorbells written into the BAR" python3 /tmp/uar.py "$bar" "$qpn"
check "3 violations counted" wait_for 5 sh -c "[ \$(cat $P/violations) -eq $((v0 + 3)) ]"
echo 0 >$P/expect_violations
dmesg | grep 'expected driver violation' | tail -n 3 | sed 's/^/#   /'
check "the QP named on another page was not run for it: ping still works" pings -n a 10 10.9.0.2
check "ping6 after the violations" pings -n a 5 -6 fd00:9::2

ip netns del a
ip netns del b
check "opensm stops, modules unload" model_stop
check "no leak (kmemleak)" kmemleak_check
finish
