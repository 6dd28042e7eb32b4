// SPDX-License-Identifier: GPL-2.0

//! Raw bindings: the kernel crate's `bindings` plus the RDMA, netdev, auxiliary bus and mlx4
//! headers listed in `bindings_helper.h`, generated at build time by `Kbuild.bindgen`.
//!
//! Only the abstractions in `rust-bindings/` use this module; driver code never does.

#![allow(
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    improper_ctypes,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    dead_code,
    unused_imports
)]

mod generated {
    use kernel::ffi;
    // Local definitions shadow the glob import of the kernel's own bindings, so where both
    // generate a type, this module's (from the same headers and flags) is the one used.
    pub use super::helpers::*;
    pub use kernel::bindings::*;
    // Blocklisted by rust/bindgen_parameters and mapped by hand, as in rust/bindings/lib.rs.
    type __kernel_size_t = usize;
    type __kernel_ssize_t = isize;
    type __kernel_ptrdiff_t = isize;
    include!(concat!(env!("RB_GENERATED"), "/bindings_generated.rs"));
}

mod helpers {
    use super::generated::*;
    use kernel::ffi;
    include!(concat!(env!("RB_GENERATED"), "/helpers_generated.rs"));
}

pub(crate) use generated::*;
