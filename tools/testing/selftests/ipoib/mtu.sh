#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# MTU of datagram mode on RoCE: the port's active IB MTU less the 4-byte
# header (1020 at underlay MTU 1500, 4092 at 9000), and `ip link set mtu`
# bounds as in the C driver; the MTU follows the underlay's when it changes,
# children's too.
# timeout: 180
# exercises: ours
. "$(dirname "$0")/../lib.sh"

check "set up at underlay MTU 1500" setup_ipoib 1500
check_eq "MTU at underlay MTU 1500" 1020 "$(cat /sys/class/net/ib0/mtu)"
check "MTU 1021 refused" sh -c "! ip link set ib0 mtu 1021 2>/dev/null"
check "MTU 71 refused" sh -c "! ip link set ib0 mtu 71 2>/dev/null"
check "MTU 72 accepted" ip link set ib0 mtu 72
check "MTU 1020 accepted again" ip link set ib0 mtu 1020
check_eq "MTU unchanged by the refusals" 1020 "$(cat /sys/class/net/ib0/mtu)"
check "no IPv6 below 1280 (as on any link)" sh -c "! ip -6 addr show dev ib0 | grep -q inet6"
teardown_ipoib

check "set up at underlay MTU 9000" setup_ipoib 9000
check_eq "MTU at underlay MTU 9000" 4092 "$(cat /sys/class/net/ib0/mtu)"
check "MTU 4093 refused" sh -c "! ip link set ib0 mtu 4093 2>/dev/null"
check "MTU 2044 accepted" ip link set ib0 mtu 2044
check_eq "MTU now" 2044 "$(cat /sys/class/net/ib0/mtu)"
check "MTU 65521 refused (above max_mtu)" sh -c "! ip link set ib0 mtu 65521 2>/dev/null"
ip link set ib0 mtu 4092

# The underlay's MTU changes under a running interface: ib0 and its child
# follow, and ib0 keeps a smaller MTU the administrator chose.
ip link set ib0 up
ip link add link ib0 name ib0c type ipoib
ip link set ib0c up
mtu_is() { [ "$(cat /sys/class/net/${2:-ib0}/mtu)" = "$1" ]; }
ip link set eth0 mtu 1500
check "underlay 9000 -> 1500: MTU follows to 1020" wait_for 20 mtu_is 1020
check "the child follows too" wait_for 20 mtu_is 1020 ib0c
check "the change is logged" dmesg_has "ib0: link MTU changed, MTU now 1020"
ip link set eth0 mtu 9000
check "underlay back to 9000: MTU back to 4092" wait_for 20 mtu_is 4092
check "the child is back to 4092" wait_for 20 mtu_is 4092 ib0c
ip link set ib0 mtu 2044
ip link set eth0 mtu 1500
check "administrator's 2044, underlay 1500: 1020" wait_for 20 mtu_is 1020
ip link set eth0 mtu 9000
check "underlay back to 9000: the administrator's 2044 again" wait_for 20 mtu_is 2044
ip link del ib0c

teardown_ipoib
check "no leak (kmemleak)" kmemleak_check
finish
