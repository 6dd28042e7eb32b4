#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Lay this project into a Linux 6.12 source tree, as it would be submitted:
#
#   drivers/infiniband/rust/          the shared abstractions (rust-bindings/), compiled
#                                     into each module as source, as out of tree
#   drivers/infiniband/ulp/ipoib_rs/  ib_ipoib (CONFIG_INFINIBAND_IPOIB_RUST)
#   drivers/infiniband/hw/mlx4_rs/    mlx4_ib (CONFIG_MLX4_INFINIBAND_RUST)
#
# Each driver directory gets a kbuild Makefile and its Kconfig entry (taken from the
# top-level Kconfig), sourced from drivers/infiniband/Kconfig next to the C driver's;
# ulp/Makefile and hw/Makefile descend into them. The only source lines that change are
# the relative paths to the abstractions (`#[path]` of the crate roots, `#include` of the
# C helpers). Test-only files (the model, mlx4_ib_pair) stay out.
#
#   lay.sh TREE
#
# TREE may be a hard-linked copy of a pristine tree: every file this script changes is
# replaced, never written in place.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../../.." && pwd)
tree=${1:?usage: lay.sh TREE}
[ -f "$tree/drivers/infiniband/Kconfig" ] || { echo "lay.sh: $tree is not a kernel tree" >&2; exit 1; }
ib=$tree/drivers/infiniband

# Replace FILE by a private copy (breaks a hard link to the pristine tree).
own() { cp "$1" "$1.lay" && mv "$1.lay" "$1"; }

rm -rf "$ib/rust" "$ib/ulp/ipoib_rs" "$ib/hw/mlx4_rs"
mkdir -p "$ib/rust" "$ib/ulp/ipoib_rs" "$ib/hw/mlx4_rs"

# Sources as git tracks them (no build output, no generated bindings).
copy() { # copy SRCDIR DEST [EXCLUDE-REGEX]
	(cd "$repo" && git ls-files -- "$1") | { if [ -n "${3:-}" ]; then grep -Ev "$3"; else cat; fi; } |
		while IFS= read -r f; do
			mkdir -p "$2/$(dirname "${f#"$1"/}")"
			cp "$repo/$f" "$2/${f#"$1"/}"
		done
}
copy rust-bindings "$ib/rust"
copy ipoib "$ib/ulp/ipoib_rs"
copy mlx4_ib "$ib/hw/mlx4_rs" '/mlx4_ib_pair'

# The crate roots and C helpers reach the abstractions at their in-tree place.
sed -i 's|#\[path = "\.\./rust-bindings/lib\.rs"\]|#[path = "../../rust/lib.rs"]|' \
	"$ib/ulp/ipoib_rs/ipoib_main.rs" "$ib/hw/mlx4_rs/mlx4_ib_main.rs"
sed -i 's|#include "\.\./rust-bindings/helpers\.c"|#include "../../rust/helpers.c"|' \
	"$ib/ulp/ipoib_rs/ipoib_helpers.c" "$ib/hw/mlx4_rs/mlx4_ib_helpers.c"
grep -q '"../../rust/lib.rs"' "$ib/ulp/ipoib_rs/ipoib_main.rs" "$ib/hw/mlx4_rs/mlx4_ib_main.rs"
if grep -rEq '^(#include|#\[path).*rust-bindings/' "$ib/ulp/ipoib_rs" "$ib/hw/mlx4_rs"; then
	echo "lay.sh: a path to rust-bindings/ was left" >&2
	exit 1
fi

# Kconfig: each driver's entry from the top-level Kconfig.
kconfig_entry() { # kconfig_entry SYMBOL
	echo "# SPDX-License-Identifier: GPL-2.0"
	awk -v sym="$1" '/^config /{on = ($2 == sym)} on' "$repo/Kconfig"
}
kconfig_entry INFINIBAND_IPOIB_RUST >"$ib/ulp/ipoib_rs/Kconfig"
kconfig_entry MLX4_INFINIBAND_RUST >"$ib/hw/mlx4_rs/Kconfig"
grep -q tristate "$ib/ulp/ipoib_rs/Kconfig"
grep -q tristate "$ib/hw/mlx4_rs/Kconfig"

# kbuild Makefiles: the objects of the top-level Kbuild, paths relative to the directory.
# The C helpers are only called from Rust: no prototypes (as in rust/Makefile).
driver_makefile() { # driver_makefile SYMBOL MODULE FILE-PREFIX
	cat <<EOF
# SPDX-License-Identifier: GPL-2.0
rb_src := \$(srctree)/drivers/infiniband/rust
include \$(rb_src)/Kbuild.bindgen

obj-\$(CONFIG_$1) += $2.o
$2-y := $3_main.o $3_params.o $3_helpers.o

CFLAGS_REMOVE_$3_helpers.o = -Wmissing-prototypes -Wmissing-declarations
\$(obj)/$3_main.o: \$(rb_generated)
EOF
}
driver_makefile INFINIBAND_IPOIB_RUST ib_ipoib ipoib >"$ib/ulp/ipoib_rs/Makefile"
driver_makefile MLX4_INFINIBAND_RUST mlx4_ib mlx4_ib >"$ib/hw/mlx4_rs/Makefile"

# Hook both into the tree, next to the C drivers they replace (idempotent).
own "$ib/Kconfig"
sed -i '/source "drivers\/infiniband\/\(hw\/mlx4_rs\|ulp\/ipoib_rs\)\/Kconfig"/d' "$ib/Kconfig"
sed -i 's|^source "drivers/infiniband/hw/mlx4/Kconfig"$|&\nsource "drivers/infiniband/hw/mlx4_rs/Kconfig"|' "$ib/Kconfig"
sed -i 's|^source "drivers/infiniband/ulp/ipoib/Kconfig"$|&\nsource "drivers/infiniband/ulp/ipoib_rs/Kconfig"|' "$ib/Kconfig"
own "$ib/ulp/Makefile"
sed -i '/ipoib_rs\//d' "$ib/ulp/Makefile"
sed -i 's|^obj-$(CONFIG_INFINIBAND_IPOIB)\t*+= ipoib/$|&\nobj-$(CONFIG_INFINIBAND_IPOIB_RUST)\t+= ipoib_rs/|' "$ib/ulp/Makefile"
own "$ib/hw/Makefile"
sed -i '/mlx4_rs\//d' "$ib/hw/Makefile"
sed -i 's|^obj-$(CONFIG_MLX4_INFINIBAND)\t*+= mlx4/$|&\nobj-$(CONFIG_MLX4_INFINIBAND_RUST)\t+= mlx4_rs/|' "$ib/hw/Makefile"
for f in "$ib/Kconfig:mlx4_rs/Kconfig" "$ib/Kconfig:ipoib_rs/Kconfig" \
	"$ib/ulp/Makefile:ipoib_rs/" "$ib/hw/Makefile:mlx4_rs/"; do
	grep -q "${f#*:}" "${f%%:*}" || { echo "lay.sh: could not hook ${f#*:} into ${f%%:*}" >&2; exit 1; }
done
echo "lay.sh: laid into $tree"
