// SPDX-License-Identifier: GPL-2.0

//! Error codes missing from `kernel::error::code` in 6.12 (it stops at `ERANGE`).
//!
//! C headers: [`include/uapi/asm-generic/errno.h`](srctree/include/uapi/asm-generic/errno.h).

use super::raw;
use kernel::error::Error;

macro_rules! declare_err {
    ($($name:ident),* $(,)?) => {
        $(
            #[doc = concat!("`", stringify!($name), "` from `errno.h`.")]
            pub(crate) fn $name() -> Error {
                // The constants are small positive values, so the cast cannot truncate.
                Error::from_errno(-(raw::$name as i32))
            }
        )*
    };
}

#[allow(non_snake_case)]
pub(crate) mod code {
    use super::*;

    declare_err!(
        EOPNOTSUPP,
        ENOTUNIQ,
        ETIMEDOUT,
        EMSGSIZE,
        ENETDOWN,
        ENOBUFS,
        EADDRNOTAVAIL,
        ENETUNREACH,
        EHOSTUNREACH,
        ENETRESET,
        ECONNRESET,
        ENOLINK,
        EPROTONOSUPPORT,
    );
}
