#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The DKMS package on the test kernel, as on a host. In vm a: the package is
# built (tools/packaging/mkdeb.sh), installed with dpkg against the kernel's
# headers (DKMS builds ib_ipoib and mlx4_ib in the VM), `dkms status` says
# installed, modprobe resolves both to updates/dkms (the C drivers were what
# it resolved to before) and loads ours, which carries pings to vm b over
# soft-RoCE. A kernel without CONFIG_RUST and one built with another rustc,
# installed beside it, are skipped with the reason, never half-built. Removing
# the package takes the modules away: modprobe loads the C drivers again.
# The DKMS build of both Rust modules takes most of it: 25-28 minutes under TCG on
# a 2-core host (28 on a slow day, which left too little of the old 1800 s).
# timeout: 2700
# exercises: ours
. "$(dirname "$0")/../lib.sh"
[ "$NVMS" = 2 ] || skip "needs two VMs"

kver=$(uname -r)
# modinfo names files under /lib/modules (/usr/lib/modules on a merged /usr).
mods=/lib/modules/$kver
c_ipoib=$mods/kernel/drivers/infiniband/ulp/ipoib/ib_ipoib.ko
c_mlx4=$mods/kernel/drivers/infiniband/hw/mlx4/mlx4_ib.ko

if [ "$VM_NAME" = b ]; then
	# The peer: our ib_ipoib from the run's module tree, pinged from vm a's DKMS build.
	barrier dkms-installed 2500 || fail "vm a did not install the package"
	check "set up rxe0 and ib0" setup_ipoib 1500
	barrier pinged 300 || true
	teardown_ipoib
	finish
fi

command -v dkms >/dev/null || fail "dkms is not installed (tools/testing/vm/host-deps.sh)"
# The guest runs as root; the Rust toolchain is the host user's (rustup's proxies find
# their toolchains through RUSTUP_HOME).
if [ "${HOST_HOME:-/root}" != /root ]; then
	export PATH="$PATH:$HOST_HOME/.cargo/bin" RUSTUP_HOME="$HOST_HOME/.rustup" \
		CARGO_HOME="$HOST_HOME/.cargo"
fi
[ -n "${KBUILD:-}" ] && [ -f "$KBUILD/.config" ] || fail "no kernel build directory (KBUILD='${KBUILD:-}')"
if [ "$FAILED" = 1 ]; then barrier dkms-installed 10; finish; fi

# The guest's /usr is the host's, read-only: dpkg and DKMS write to tmpfs
# overlays of the directories they install into (gone with the VM).
writable() {
	_t=/run/dkms-ovl$(echo "$1" | tr / _)
	mkdir -p "$1" "$_t/u" "$_t/w"
	mount -t overlay overlay -o "lowerdir=$1,upperdir=$_t/u,workdir=$_t/w" "$1"
}
writable /usr/src
writable /usr/share/doc
# A writable module tree without the run's own copies of ours, and the kernel's
# headers where DKMS looks for them (the test kernel's build directory).
writable "$mods"
rm -f "$mods/updates/ib_ipoib.ko" "$mods/updates/mlx4_ib.ko"
ln -sfn "$KBUILD" "$mods/build"
depmod -a
check_eq "before: modprobe resolves ib_ipoib to the C one" "$c_ipoib" "$(modinfo -F filename ib_ipoib)"
check_eq "before: modprobe resolves mlx4_ib to the C one" "$c_mlx4" "$(modinfo -F filename mlx4_ib)"

# Two more kernels' headers that cannot take the Rust drivers.
fake_kernel() { # fake_kernel KVER SED-EXPR
	mkdir -p "/lib/modules/$1/build/include/config"
	echo "$1" >"/lib/modules/$1/build/include/config/kernel.release"
	sed "$2" "$KBUILD/.config" >"/lib/modules/$1/build/.config"
}
fake_kernel 6.12.0-norust '/^CONFIG_RUST=y$/d'
fake_kernel 6.12.0-otherrustc 's/^CONFIG_RUSTC_VERSION_TEXT=.*/CONFIG_RUSTC_VERSION_TEXT="rustc 1.78.0 (9b00956e5 2024-04-29)"/'

check "the package builds (mkdeb.sh)" sh -c "tools/packaging/mkdeb.sh /tmp/deb >/tmp/mkdeb.out"
deb=$(tail -n 1 /tmp/mkdeb.out 2>/dev/null)
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
start=$(date +%s)
check "dpkg -i installs it (DKMS builds for $kver)" sh -c "DEBIAN_FRONTEND=noninteractive dpkg -i '$deb' >/tmp/dpkg.out 2>&1"
echo "# dpkg -i took $(($(date +%s) - start)) s:"
sed 's/^/#   /' /tmp/dpkg.out
check_eq "the package is installed" "install ok installed" \
	"$(dpkg-query -W -f='${Status}' ipoib-rs-dkms 2>&1)"
check "postinst: installed for $kver" grep -qx "ipoib-rs: ib_ipoib and mlx4_ib (Rust) are installed for $kver" /tmp/dpkg.out
check "postinst: a kernel without CONFIG_RUST skipped, with the reason" grep -qx \
	"ipoib-rs: not built for 6.12.0-norust: the kernel was built without CONFIG_RUST; its C ib_ipoib and mlx4_ib stay in use" /tmp/dpkg.out
check "postinst: a kernel of another rustc skipped, with the reason" grep -q \
	"^ipoib-rs: not built for 6.12.0-otherrustc: the kernel was built with rustc 1.78.0 (9b00956e5 2024-04-29), but rustc here is rustc " /tmp/dpkg.out
dkms status >/tmp/dkms.status 2>&1
sed 's/^/#   dkms status: /' /tmp/dkms.status
check "dkms status: installed for $kver" grep -Eq "^ipoib-rs/$version, $kver, x86_64: installed" /tmp/dkms.status
check "dkms status: nothing for the other kernels" sh -c "! grep -q 6.12.0- /tmp/dkms.status"
# dkms itself refuses them (exit code 77: skipped), whatever the postinst chose.
for k in 6.12.0-norust 6.12.0-otherrustc; do
	dkms build -m ipoib-rs -v "$version" -k "$k" >/tmp/dkms.build 2>&1
	check_eq "dkms build for $k: skipped (77)" 77 "$?"
done
# A new kernel's postinst runs dkms's hook and ours: a kernel the drivers cannot take
# must fail neither (dkms 3.0.10's autoinstall counts a skipped module as a failure,
# which would leave the kernel's package unconfigured), and ours says why.
for k in 6.12.0-norust 6.12.0-otherrustc; do
	for hook in /etc/kernel/postinst.d/dkms /etc/kernel/postinst.d/ipoib-rs-dkms \
		/etc/kernel/header_postinst.d/ipoib-rs-dkms; do
		"$hook" "$k" >/tmp/dkms.hook 2>&1
		check_eq "$hook $k (a new kernel): succeeds" 0 "$?"
	done
	check "the hook says why $k is skipped" grep -q "^ipoib-rs: not built for $k: " /tmp/dkms.hook
done
/etc/kernel/postinst.d/ipoib-rs-dkms "$kver" >/tmp/dkms.hook 2>&1
check_eq "our hook for $kver (installed already): succeeds" 0 "$?"
check "no module under the other kernels" sh -c "! find /lib/modules/6.12.0-norust /lib/modules/6.12.0-otherrustc -name '*.ko*' | grep -q ."
check_eq "modprobe resolves ib_ipoib to the DKMS build" "$mods/updates/dkms/ib_ipoib.ko" "$(modinfo -F filename ib_ipoib)"
check_eq "modprobe resolves mlx4_ib to the DKMS build" "$mods/updates/dkms/mlx4_ib.ko" "$(modinfo -F filename mlx4_ib)"
for m in ib_ipoib mlx4_ib; do
	check_eq "the DKMS $m is the Rust one (its rustc in .comment)" 1 \
		"$(readelf -p .comment "$mods/updates/dkms/$m.ko" 2>/dev/null | grep -c 'rustc version')"
done
check "modprobe mlx4_ib loads ours" sh -c "modprobe mlx4_ib && grep -q O /sys/module/mlx4_ib/taint"
modprobe -r mlx4_ib mlx4_core 2>/dev/null

barrier dkms-installed 60
check "set up rxe0 and ib0 on the DKMS ib_ipoib" setup_ipoib 1500
check "5 pings to vm b over ib0" pings 5 "$(ib_ip4 b)"
barrier pinged 300
teardown_ipoib

check "dpkg -r removes it" sh -c "DEBIAN_FRONTEND=noninteractive dpkg -r ipoib-rs-dkms >/tmp/dpkg.out 2>&1"
sed 's/^/#   /' /tmp/dpkg.out
check_eq "dkms status: empty" "" "$(dkms status 2>&1)"
check "the DKMS modules are gone" sh -c "! ls $mods/updates/dkms/*.ko* 2>/dev/null | grep -q ."
check_eq "after: modprobe resolves ib_ipoib to the C one" "$c_ipoib" "$(modinfo -F filename ib_ipoib)"
check_eq "after: modprobe resolves mlx4_ib to the C one" "$c_mlx4" "$(modinfo -F filename mlx4_ib)"
check "after: modprobe ib_ipoib loads the C one" sh -c "modprobe ib_ipoib && [ -d /sys/module/ib_ipoib ] && ! grep -q O /sys/module/ib_ipoib/taint"
modprobe -r ib_ipoib

# Leave the VM as it was: the run's module tree (with its copies of ours), no fakes.
rm -rf /lib/modules/6.12.0-norust /lib/modules/6.12.0-otherrustc
umount "$mods" /usr/share/doc /usr/src
finish
