// SPDX-License-Identifier: GPL-2.0

//! Read-only debugfs files rendered on open (`debugfs_create_file` + `single_open`), and
//! `u32` knobs (`debugfs_create_u32`).
//!
//! A [`File`] keeps its data alive with an [`Arc`]; dropping the file removes it, which waits
//! for readers in its callbacks, so the data outlives every read.
//!
//! C headers: [`include/linux/debugfs.h`](srctree/include/linux/debugfs.h),
//! [`include/linux/seq_file.h`](srctree/include/linux/seq_file.h).

use crate::rust_bindings::raw;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::AtomicU32;
use kernel::error::{from_err_ptr, to_result, Result};
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;

/// A debugfs directory; dropping it removes it with everything still in it.
pub(crate) struct Dir(NonNull<raw::dentry>);

// SAFETY: A dentry pointer may be used from any thread.
unsafe impl Send for Dir {}
// SAFETY: `&Dir` only gives the pointer to debugfs functions, which lock internally.
unsafe impl Sync for Dir {}

impl Dir {
    /// Creates directory `name` at the debugfs root; fails when debugfs is unavailable.
    pub(crate) fn new(name: &CStr) -> Result<Self> {
        // SAFETY: `name` is a valid C string; a null parent is the debugfs root.
        let d = from_err_ptr(unsafe {
            raw::debugfs_create_dir(name.as_char_ptr(), core::ptr::null_mut())
        })?;
        Ok(Self(NonNull::new(d).ok_or(ENOMEM)?))
    }

    /// Creates file `name` (mode 0600) in this directory, reading and writing `value` in
    /// decimal (`debugfs_create_u32`); it goes with the directory.
    pub(crate) fn create_u32(&self, name: &CStr, value: &'static AtomicU32) {
        // SAFETY: `name` is a valid C string and `self` a live directory; `value` lives
        // forever and is a `u32` in memory, which debugfs reads and writes with plain loads
        // and stores, as atomics of that size are.
        unsafe {
            raw::debugfs_create_u32(
                name.as_char_ptr(),
                (raw::S_IFREG | 0o600) as raw::umode_t,
                self.0.as_ptr(),
                value.as_ptr(),
            )
        }
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: Created by `new`, removed only here.
        unsafe { raw::debugfs_remove(self.0.as_ptr()) };
    }
}

/// The text of a file being rendered (`seq_write`).
pub(crate) struct SeqBuf(*mut raw::seq_file);

impl core::fmt::Write for SeqBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        // SAFETY: `self.0` is the seq_file of the `show` call this buffer was made for.
        let r = unsafe { raw::seq_write(self.0, s.as_ptr().cast(), s.len()) };
        to_result(r).map_err(|_| core::fmt::Error)
    }
}

/// What a file shows.
pub(crate) trait Show: 'static {
    /// The data the file reads.
    type Data: Send + Sync;

    /// Writes the whole content of the file (errors mean the page filled up; seq_file then
    /// retries with a bigger buffer).
    fn show(data: &Self::Data, out: &mut SeqBuf) -> core::fmt::Result;
}

/// A read-only debugfs file showing `S`; dropping it removes the file.
pub(crate) struct File<S: Show> {
    dentry: NonNull<raw::dentry>,
    _data: Arc<S::Data>,
    _s: PhantomData<S>,
}

// SAFETY: The dentry pointer is usable from any thread; the data is `Send + Sync`.
unsafe impl<S: Show> Send for File<S> {}
// SAFETY: As above.
unsafe impl<S: Show> Sync for File<S> {}

impl<S: Show> File<S> {
    const FOPS: raw::file_operations = raw::file_operations {
        open: Some(Self::open_callback),
        read: Some(raw::seq_read),
        llseek: Some(raw::seq_lseek),
        release: Some(raw::single_release),
        // SAFETY: All other operations are `None`, as in a C initialiser.
        ..unsafe { core::mem::MaybeUninit::<raw::file_operations>::zeroed().assume_init() }
    };

    /// Creates file `name` (mode 0444) in `dir`, showing `data`.
    pub(crate) fn new(name: &CStr, dir: &Dir, data: Arc<S::Data>) -> Result<Self> {
        let ptr = (&*data as *const S::Data).cast_mut().cast::<c_void>();
        // SAFETY: `name` is a valid C string, `dir` a live directory; `ptr` stays valid until
        // the file is removed in `drop`, since `self` holds `data`.
        let d = from_err_ptr(unsafe {
            raw::debugfs_create_file(
                name.as_char_ptr(),
                (raw::S_IFREG | 0o444) as raw::umode_t,
                dir.0.as_ptr(),
                ptr,
                &Self::FOPS,
            )
        })?;
        Ok(Self {
            dentry: NonNull::new(d).ok_or(ENOMEM)?,
            _data: data,
            _s: PhantomData,
        })
    }

    /// # Safety
    ///
    /// Called by debugfs only, for a file created by [`File::new`].
    unsafe extern "C" fn open_callback(inode: *mut raw::inode, file: *mut raw::file) -> c_int {
        // SAFETY: `i_private` is the data pointer given to `debugfs_create_file`.
        unsafe { raw::single_open(file, Some(Self::show_callback), (*inode).i_private) }
    }

    /// # Safety
    ///
    /// Called by seq_file only, for a file opened by `open_callback`.
    unsafe extern "C" fn show_callback(m: *mut raw::seq_file, _v: *mut c_void) -> c_int {
        // SAFETY: `private` is the data pointer, alive while the file exists (removal waits for
        // readers in the file's callbacks).
        let data = unsafe { &*(*m).private.cast::<S::Data>() };
        let mut out = SeqBuf(m);
        // A full buffer is detected by seq_file itself, which calls again with a larger one.
        let _ = S::show(data, &mut out);
        0
    }
}

impl<S: Show> Drop for File<S> {
    fn drop(&mut self) {
        // SAFETY: Created by `new`, removed only here; removal waits for running callbacks.
        unsafe { raw::debugfs_remove(self.dentry.as_ptr()) };
    }
}
