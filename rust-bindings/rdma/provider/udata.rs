// SPDX-License-Identifier: GPL-2.0

//! The driver-specific part of a user verb: the request its user-space provider library
//! wrote and the room for the response (`struct ib_udata`).
//!
//! C header: [`include/rdma/ib_verbs.h`](srctree/include/rdma/ib_verbs.h).
//!
//! The C helpers `ib_copy_{from,to}_udata` copy what the driver asks for whatever the lengths
//! are; these methods check them: a missing request or no room for a response is `EFAULT`, as
//! the C copy from or to the NULL buffer the core passes then; a short request is `EINVAL`; a
//! response is cut to the room the library gave (as `ib_respond_udata` of later kernels does).

use super::Sleepable;
use crate::rust_bindings::error::code::EOPNOTSUPP;
use crate::rust_bindings::raw;
use core::mem::size_of;
use kernel::prelude::*;
use kernel::types::{AsBytes, FromBytes};
use kernel::uaccess::UserSlice;

/// The udata of a verb call.
///
/// # Invariants
///
/// `raw` is the udata the core passed to the current verb call: `inbuf` and `outbuf` are
/// user-space addresses (or the lengths are zero), valid to copy from and to during the call.
pub(crate) struct UData<'a> {
    raw: &'a raw::ib_udata,
}

impl<'a> UData<'a> {
    /// # Safety
    ///
    /// `raw` is NULL (a kernel caller) or the udata of the verb call the returned object is
    /// used in, in process context.
    pub(super) unsafe fn from_raw(raw: *const raw::ib_udata) -> Option<Self> {
        // SAFETY: The caller's guarantee.
        // INVARIANT: As above.
        unsafe { raw.as_ref() }.map(|raw| Self { raw })
    }

    /// Bytes of the request.
    pub(crate) fn in_len(&self) -> usize {
        self.raw.inlen
    }

    /// Bytes of room for the response.
    pub(crate) fn out_len(&self) -> usize {
        self.raw.outlen
    }

    /// Reads the request as a `T`: `EFAULT` if there is none (the C drivers copy from its NULL
    /// buffer), `EINVAL` if it is shorter (where they read past it); bytes past it are
    /// ignored, as the C drivers do for requests that grew.
    pub(crate) fn copy_in<T: FromBytes>(&self, _cx: &Sleepable<'_>) -> Result<T> {
        if self.in_len() == 0 && size_of::<T>() > 0 {
            return Err(EFAULT);
        }
        if self.in_len() < size_of::<T>() {
            return Err(EINVAL);
        }
        UserSlice::new(self.raw.inbuf as usize, size_of::<T>())
            .reader()
            .read()
    }

    /// Reads the request as a `T`, as [`UData::copy_in`], and requires the bytes past it to
    /// be zero (`ib_is_udata_cleared`): `EOPNOTSUPP` if the library asks for more than this
    /// driver knows.
    pub(crate) fn copy_in_strict<T: FromBytes>(&self, cx: &Sleepable<'_>) -> Result<T> {
        let v = self.copy_in(cx)?;
        let extra = self.in_len() - size_of::<T>();
        let mut r = UserSlice::new(self.raw.inbuf as usize + size_of::<T>(), extra).reader();
        let mut chunk = [0u8; 64];
        let mut left = extra;
        while left > 0 {
            let n = left.min(chunk.len());
            r.read_slice(&mut chunk[..n])?;
            if chunk[..n].iter().any(|&b| b != 0) {
                return Err(EOPNOTSUPP());
            }
            left -= n;
        }
        Ok(v)
    }

    /// Writes the response: as much of `v` as there is room for; `EFAULT` if there is none
    /// (the C drivers copy to its NULL buffer; where there is some but too little they write
    /// past it, which this does not).
    pub(crate) fn respond<T: AsBytes>(&self, v: &T, cx: &Sleepable<'_>) -> Result {
        // SAFETY: `AsBytes` guarantees that every byte of `*v` is initialised; the slice
        // borrows `v` for its life.
        let bytes =
            unsafe { core::slice::from_raw_parts((v as *const T).cast::<u8>(), size_of::<T>()) };
        self.respond_bytes(bytes, cx)
    }

    /// Writes a response of `bytes`, as [`UData::respond`].
    pub(crate) fn respond_bytes(&self, bytes: &[u8], _cx: &Sleepable<'_>) -> Result {
        if self.out_len() == 0 && !bytes.is_empty() {
            return Err(EFAULT);
        }
        let n = self.out_len().min(bytes.len());
        UserSlice::new(self.raw.outbuf as usize, n)
            .writer()
            .write_slice(&bytes[..n])
    }
}
