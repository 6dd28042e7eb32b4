# SPDX-License-Identifier: GPL-2.0
#
# ib_ipoib and mlx4_ib in Rust, built out of tree.
#
#   make check     host unit tests + clippy build + VM selftests (sets everything up)
#   make demo      two VMs joined by a virtual wire, soft-RoCE on each, our modules loaded
#   make demo-ib   one VM with the software ConnectX-3: our mlx4_ib and ib_ipoib over
#                  InfiniBand, opensm, ibstat, the SA's view
#   make bench     benchmarks on a kernel without debug options (not part of check)
#   make stress    long repetitions (children, mode switches, rdma link, start-ups; not in check)
#   make kernel    build (once) the cached test kernel
#   make intree-check  lay the drivers into a copy of the kernel tree, build it, run
#                  selftests on its modules (a kernel build: not part of check)
#   make modules   build ib_ipoib.ko and mlx4_ib.ko, then the test-only mlx4_model.ko
#                  (KDIR=... for another kernel)
#   make install   modules_install + depmod into KDIR's kernel (real hosts)
#   make dkms-deb  the DKMS package, dist/ipoib-rs-dkms_VERSION_all.deb (real hosts)
#   make CLIPPY=1  build with clippy
#   make fmt / fmtcheck / unit / clean

SHELL := /bin/bash
VM := tools/testing/vm
SELFTESTS := tools/testing/selftests
JOBS ?= 3

# Without KDIR the modules are built against the cached debug test kernel.
ifeq ($(KDIR),)
KDIR_DEP := kernel
KDIR_CMD = $$($(VM)/kernel.sh path debug)
else
KDIR_DEP :=
KDIR_CMD = $(KDIR)
endif

KBUILD_ARGS = -C "$(KDIR_CMD)" M="$(CURDIR)" -j$(JOBS) $(if $(CLIPPY),CLIPPY=1)

RUST_SOURCES = $(shell git ls-files '*.rs' 2>/dev/null)

.PHONY: all modules kernel kernel-bench deps check demo bench stress unit clippy selftests demo-ib \
	install clean fmt fmtcheck intree-check dkms-deb

all: modules

deps:
	@$(VM)/host-deps.sh

kernel: deps
	@$(VM)/kernel.sh build debug >/dev/null

kernel-bench: deps
	@$(VM)/kernel.sh build bench >/dev/null

# The objects remember the kernel they were built for (.kdir-stamp: its release, a hash
# of its .config, its path): built against another one, they are cleaned first, so that
# make check, demo, bench and KDIR=... can run in any order.
define follow_kdir
	@id="$$(cat "$(1)/include/config/kernel.release" 2>/dev/null) \
$$(sha256sum "$(1)/.config" 2>/dev/null | cut -c1-16) $$(realpath "$(1)")"; \
	if [ "$$(cat .kdir-stamp 2>/dev/null)" != "$$id" ]; then \
		[ ! -f .kdir-stamp ] || echo "modules were built for another kernel: cleaning"; \
		$(MAKE) -C "$(1)" M="$(CURDIR)" clean >/dev/null 2>&1; \
		rm -f rust-bindings/*_generated.rs; \
		echo "$$id" >.kdir-stamp; \
	fi
endef

# Two passes: the drivers, then the software ConnectX-3 (see Kbuild).
modules: $(KDIR_DEP)
	$(call follow_kdir,$(KDIR_CMD))
	$(MAKE) $(KBUILD_ARGS) modules
	$(MAKE) $(KBUILD_ARGS) MLX4_MODEL=1 modules

# The drivers' pass again first: modules_install takes what the last pass listed.
install: modules
	$(MAKE) $(KBUILD_ARGS) modules
	$(MAKE) $(KBUILD_ARGS) modules_install
	depmod -a

clean:
	-$(MAKE) -C "$(KDIR_CMD)" M="$(CURDIR)" clean 2>/dev/null
	rm -f .kdir-stamp
	rm -f rust-bindings/*_generated.rs rust-bindings/.*.cmd
	rm -rf target tools/testing/unit/target dist

# The cargo target directory is kept outside the tree: kbuild's clean deletes every *.o in it.
unit:
	CARGO_TARGET_DIR=$${CARGO_TARGET_DIR:-$${IPOIB_RS_CACHE:-$$HOME/.cache/ipoib-rs}/unit-target} \
	cargo test --manifest-path tools/testing/unit/Cargo.toml

# Build with clippy; any compiler or clippy warning fails the build.
clippy: $(KDIR_DEP)
	@$(MAKE) -C "$(KDIR_CMD)" M="$(CURDIR)" clean >/dev/null 2>&1 || true
	@set -o pipefail; { $(MAKE) $(KBUILD_ARGS) CLIPPY=1 modules && \
		$(MAKE) $(KBUILD_ARGS) CLIPPY=1 MLX4_MODEL=1 modules; } 2>&1 | tee .clippy.log || \
		{ rm -f .clippy.log; echo "clippy: build failed"; exit 1; }
	@if grep -E -q '(^|: )(warning|error)(\[|:)' .clippy.log; then \
		echo "clippy: warnings found (see above)"; rm -f .clippy.log; exit 1; fi
	@rm -f .clippy.log
	@echo "clippy: clean"

fmt:
	rustfmt --edition 2021 $(RUST_SOURCES)

fmtcheck:
	rustfmt --edition 2021 --check $(RUST_SOURCES)

selftests: $(KDIR_DEP)
	$(SELFTESTS)/run.sh

dkms-deb:
	tools/packaging/mkdeb.sh dist

intree-check: deps kernel
	tools/testing/intree/check.sh

# Everything a contributor and CI run. The summary line comes last.
check: deps kernel
	$(SELFTESTS)/check.sh

# Repetitions too long for `make check` (each test's own default count): 1000 P_Key
# child cycles each way, 100 mode switches under TCP, 100 `rdma link` cycles under a
# ping flood; then 50 start-ups of our ib_ipoib under a fresh opensm.
stress: deps kernel modules
	$(SELFTESTS)/run.sh stress/children.sh stress/mode_switch.sh stress/rdma_link.sh
	SELFTEST_ROUNDS=$${SELFTEST_ROUNDS:-50} SELFTEST_TIMEOUT=$${SELFTEST_TIMEOUT:-7200} \
		$(SELFTESTS)/run.sh mlx4_model/startup.sh

demo: deps kernel modules
	$(VM)/run.sh -n 2 -t 600 -k ib_ipoib.ko -k mlx4_ib.ko -- tools/testing/demo.sh

demo-ib: deps kernel modules
	$(VM)/run.sh -n 1 -m -t 900 -k mlx4_model.ko -k ib_ipoib.ko -k mlx4_ib.ko -- \
		tools/testing/demo-ib.sh

# The bench kernel has another .config, so the modules are rebuilt against it (and rebuilt
# against the debug kernel by the next `make check`).
bench: deps kernel-bench
	rm -f .kdir-stamp
	$(MAKE) -C "$$($(VM)/kernel.sh path bench)" M="$(CURDIR)" clean >/dev/null
	$(MAKE) -C "$$($(VM)/kernel.sh path bench)" M="$(CURDIR)" -j$(JOBS) modules
	$(MAKE) -C "$$($(VM)/kernel.sh path bench)" M="$(CURDIR)" -j$(JOBS) MLX4_MODEL=1 modules
	$(VM)/run.sh -n 2 -f bench -t 900 -k ib_ipoib.ko -k mlx4_ib.ko -- tools/testing/bench.sh
	$(VM)/run.sh -n 1 -m -f bench -t 1200 -k mlx4_model.ko -- tools/testing/bench-model.sh
	$(VM)/run.sh -n 1 -m -f bench -t 1200 -k mlx4_model.ko -- tools/testing/bench-verbs.sh
	$(MAKE) -C "$$($(VM)/kernel.sh path bench)" M="$(CURDIR)" clean >/dev/null
