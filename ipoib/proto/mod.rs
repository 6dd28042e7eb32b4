// SPDX-License-Identifier: GPL-2.0

//! Pure IPoIB protocol definitions: no kernel dependency, unit-tested on the host
//! (`tools/testing/unit`, `cargo test`) and compiled into ib_ipoib with `#[path]`.
//!
//! Specifications: RFC 4391 (IPoIB over UD), RFC 4392 (architecture), RFC 4755 (connected mode),
//! and the C driver, drivers/infiniband/ulp/ipoib.

pub(crate) mod addr;
pub(crate) mod child;
pub(crate) mod cm;
pub(crate) mod header;
pub(crate) mod link;
pub(crate) mod mcast;
pub(crate) mod mtu;
pub(crate) mod params;
pub(crate) mod roce;
