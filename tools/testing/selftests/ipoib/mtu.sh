#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# MTU of datagram mode on RoCE: the port's active IB MTU less the 4-byte
# header (1020 at underlay MTU 1500, 4092 at 9000), and `ip link set mtu`
# bounds as in the C driver.
# timeout: 180
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

teardown_ipoib
check "no leak (kmemleak)" kmemleak_check
finish
