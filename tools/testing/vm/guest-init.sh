#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 of a test VM. The root file system is the host's root over 9p,
# read-only; this script gives the guest writable tmpfs/overlay copies of the
# directories programs write to, mounts the run's module tree and exchange
# directory (two more 9p shares), runs /run/xch/cmd and powers off.
#
# Kernel command line: ipoibrs.vm=NAME (a or b), ipoibrs.repo=PATH (the
# repository, mounted from its own share at the same path as on the host).

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C LC_ALL=C

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
# What udev makes on a full system: bash's <(...) (dkms uses it) needs /dev/fd.
ln -sfn /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

p9="trans=virtio,version=9p2000.L,msize=262144"

# A writable view of a host directory: overlayfs, tmpfs upper layer.
overlay() {
	dir=$1
	tag=$(echo "$dir" | tr / _)
	mkdir -p "/run/ovl/$tag/u" "/run/ovl/$tag/w"
	mount -t overlay overlay \
		-o "lowerdir=$dir,upperdir=/run/ovl/$tag/u,workdir=/run/ovl/$tag/w" "$dir"
}
overlay /etc
overlay /var
overlay /root

kver=$(uname -r)
if [ -d /usr/lib/modules ]; then
	mount -t tmpfs tmpfs /usr/lib/modules
else
	# The host has no /usr/lib/modules to mount on: make /usr/lib writable.
	overlay /usr/lib
fi
mkdir -p "/usr/lib/modules/$kver"
mount -t 9p -o "$p9,ro" mods "/usr/lib/modules/$kver"

mkdir -p /run/xch
mount -t 9p -o "$p9" xch /run/xch

vm=a
repo=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	ipoibrs.vm=*) vm=${arg#ipoibrs.vm=} ;;
	ipoibrs.repo=*) repo=${arg#ipoibrs.repo=} ;;
	esac
done

# The repository, at the same path as on the host, from its own share: the
# root share may hide it (a clone under /tmp is under the guest's tmpfs).
if [ -n "$repo" ]; then
	mkdir -p "$repo" 2>/dev/null
	mount -t 9p -o "$p9,ro" repo "$repo"
fi
export VM_NAME=$vm XCH=/run/xch

hostname "vm-$vm"
ip link set lo up
ip link set eth0 up 2>/dev/null

# Objects from boot that kmemleak suspects are not the tests' doing: report
# them here, before the marker from which the host scans for splats, and
# clear them so that the tests' own leak checks start clean.
kl=/sys/kernel/debug/kmemleak
if [ -w $kl ]; then
	echo scan >$kl
	echo clear >$kl
fi

echo "ipoib-rs: guest $vm up ($(cut -d' ' -f1 /proc/uptime)s)" >/dev/kmsg

cd /
{
	sh /run/xch/cmd
	echo $? >"/run/xch/$vm.rc.tmp"
} 2>&1 | tee "/run/xch/$vm.out"
dmesg >"/run/xch/$vm.dmesg"
mv "/run/xch/$vm.rc.tmp" "/run/xch/$vm.rc"
sync
umount /run/xch
busybox poweroff -f
