// SPDX-License-Identifier: GPL-2.0

//! Driver-specific sysfs attributes of network devices (`/sys/class/net/<if>/<attr>`).
//!
//! A driver lists its attributes in [`Attributes::ATTRS`] and declares one static
//! [`AttrGroup`] for them with [`attr_group!`]; the group is installed as the device's
//! `sysfs_groups[0]` before registration (see [`super::Config::sysfs`]), so the files appear
//! and disappear with the device, atomically with its uevent. Which files a device shows is
//! decided per device by [`Attributes::visible`].
//!
//! C headers: [`include/linux/sysfs.h`](srctree/include/linux/sysfs.h),
//! [`include/linux/device.h`](srctree/include/linux/device.h).

use super::registration::driver_data;
use super::{NetDevice, Ops};
use crate::rust_bindings::raw;
use core::cell::UnsafeCell;
use core::marker::PhantomData;
use kernel::error::Result;
use kernel::ffi::{c_char, c_int};
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::types::ForeignOwnable;

/// Attributes a group can hold.
pub(crate) const MAX_ATTRS: usize = 16;

/// One attribute: its file name and mode (`0o444`, `0o644`, `0o200`...).
pub(crate) struct Attr {
    /// File name.
    pub(crate) name: &'static CStr,
    /// File mode.
    pub(crate) mode: u16,
}

/// The output of a `show` callback: one page, as `sysfs_emit` writes.
pub(crate) struct ShowBuf<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl core::fmt::Write for ShowBuf<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = self.buf.len().saturating_sub(self.len);
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if n < s.len() {
            return Err(core::fmt::Error);
        }
        Ok(())
    }
}

/// The sysfs attributes of a network device driver.
///
/// The callbacks receive the attribute's index in [`Attributes::ATTRS`]. They run in process
/// context without RTNL; one that needs RTNL must use [`super::Rtnl::try_lock`] and fail with
/// [`super::restart_syscall`] when it cannot have it, because unregistering a device removes its
/// files under RTNL and waits for running callbacks.
pub(crate) trait Attributes: Ops {
    /// The attributes, at most [`MAX_ATTRS`].
    const ATTRS: &'static [Attr];

    /// Whether `dev` shows attribute `index` (called once, when the device is registered).
    fn visible(
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _index: usize,
    ) -> bool {
        true
    }

    /// Formats attribute `index` into `out`.
    fn show(
        dev: &NetDevice,
        data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        index: usize,
        out: &mut ShowBuf<'_>,
    ) -> Result;

    /// Applies a write of `input` to attribute `index`; all of it is consumed on success.
    fn store(
        dev: &NetDevice,
        data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        index: usize,
        input: &[u8],
    ) -> Result;
}

/// A driver's attribute group, type-erased so that [`super::Config`] can name it; its callbacks
/// check that a device belongs to their driver before touching its data.
#[repr(transparent)]
pub(crate) struct SysfsGroup(UnsafeCell<raw::attribute_group>);

// SAFETY: Only read after its `const` construction.
unsafe impl Sync for SysfsGroup {}

impl SysfsGroup {
    /// Returns the C group.
    pub(crate) fn as_raw(&self) -> *const raw::attribute_group {
        self.0.get()
    }
}

/// A `device_attribute` that knows its index.
#[repr(C)]
struct IndexedAttr {
    attr: raw::device_attribute,
    index: usize,
}

/// The static attribute group of a driver; declare it with [`attr_group!`].
pub(crate) struct AttrGroup<T: Attributes> {
    attrs: UnsafeCell<[IndexedAttr; MAX_ATTRS]>,
    ptrs: UnsafeCell<[*mut raw::attribute; MAX_ATTRS + 1]>,
    group: UnsafeCell<raw::attribute_group>,
    _t: PhantomData<T>,
}

// SAFETY: The group is written only by its `const` constructor; afterwards the kernel reads it
// (sysfs keeps per-file state elsewhere, and lockdep uses the key fields' addresses only).
unsafe impl<T: Attributes> Sync for AttrGroup<T> {}

impl<T: Attributes> AttrGroup<T> {
    /// Builds the group of the static at `this` (it points into itself).
    pub(crate) const fn new(this: *const Self) -> Self {
        // SAFETY: All-zero is a valid `device_attribute` (null name, no callbacks).
        let zero: raw::device_attribute = unsafe { core::mem::zeroed() };
        let mut built: [IndexedAttr; MAX_ATTRS] = [const {
            IndexedAttr {
                // SAFETY: As above.
                attr: unsafe { core::mem::zeroed() },
                index: 0,
            }
        }; MAX_ATTRS];
        let mut ptrs = [core::ptr::null_mut(); MAX_ATTRS + 1];
        assert!(T::ATTRS.len() <= MAX_ATTRS);
        let mut i = 0;
        while i < T::ATTRS.len() {
            let mut a = zero;
            a.attr.name = T::ATTRS[i].name.as_char_ptr();
            a.attr.mode = T::ATTRS[i].mode;
            a.show = Some(Self::show_callback);
            a.store = Some(Self::store_callback);
            built[i] = IndexedAttr { attr: a, index: i };
            // SAFETY: `this` is the static being built; `i` is in bounds of its array, and only
            // the address is taken.
            ptrs[i] = unsafe { (&raw const (*this).attrs).cast::<IndexedAttr>().add(i) }
                .cast_mut()
                .cast();
            i += 1;
        }
        // SAFETY: All-zero is a valid `attribute_group` (no name, no callbacks).
        let mut group: raw::attribute_group = unsafe { core::mem::zeroed() };
        // SAFETY: As for `ptrs[i]`.
        group.attrs = unsafe { (&raw const (*this).ptrs) }.cast_mut().cast();
        group.is_visible = Some(Self::is_visible_callback);
        Self {
            attrs: UnsafeCell::new(built),
            ptrs: UnsafeCell::new(ptrs),
            group: UnsafeCell::new(group),
            _t: PhantomData,
        }
    }

    /// Returns the type-erased group, for [`super::Config::sysfs`].
    pub(crate) fn handle(&'static self) -> &'static SysfsGroup {
        // SAFETY: `SysfsGroup` is a transparent `UnsafeCell<attribute_group>`, as `self.group`.
        unsafe { &*self.group.get().cast::<SysfsGroup>() }
    }

    /// # Safety
    ///
    /// `d` is the embedded `struct device` of a registered device of `T`, whose sysfs files are
    /// being used (so it is not freed before the callback returns).
    unsafe fn device<'a>(d: *mut raw::device) -> &'a NetDevice {
        // SAFETY: Per the function's contract.
        unsafe { NetDevice::from_raw(raw::to_net_dev(d)) }
    }

    /// # Safety
    ///
    /// Called by sysfs only, with an attribute of this group.
    unsafe extern "C" fn show_callback(
        d: *mut raw::device,
        attr: *mut raw::device_attribute,
        buf: *mut c_char,
    ) -> isize {
        // SAFETY: The group is only installed on network devices, and the files exist only while
        // the device is registered.
        let dev = unsafe { Self::device(d) };
        if !dev.is_driver::<T>() {
            return EINVAL.to_errno() as isize;
        }
        // SAFETY: The attributes of the group are `IndexedAttr`s, `device_attribute` first;
        // sysfs passes a page-sized buffer; a registered device of `T` has its data set.
        let (dev, data, index, page) = unsafe {
            let index = (*attr.cast::<IndexedAttr>()).index;
            let page = core::slice::from_raw_parts_mut(buf.cast::<u8>(), kernel::page::PAGE_SIZE);
            (dev, driver_data::<T>(dev.as_raw()), index, page)
        };
        let mut out = ShowBuf { buf: page, len: 0 };
        match T::show(dev, data, index, &mut out) {
            Ok(()) => out.len as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// Called by sysfs only, with an attribute of this group.
    unsafe extern "C" fn store_callback(
        d: *mut raw::device,
        attr: *mut raw::device_attribute,
        buf: *const c_char,
        count: usize,
    ) -> isize {
        // SAFETY: As in `show_callback`.
        let dev = unsafe { Self::device(d) };
        if !dev.is_driver::<T>() {
            return EINVAL.to_errno() as isize;
        }
        // SAFETY: As in `show_callback`; sysfs passes `count` readable bytes.
        let (dev, data, index, input) = unsafe {
            let index = (*attr.cast::<IndexedAttr>()).index;
            let input = core::slice::from_raw_parts(buf.cast::<u8>(), count);
            (dev, driver_data::<T>(dev.as_raw()), index, input)
        };
        match T::store(dev, data, index, input) {
            Ok(()) => count as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// Called by sysfs only, while the device is being added (its data is set).
    unsafe extern "C" fn is_visible_callback(
        kobj: *mut raw::kobject,
        attr: *mut raw::attribute,
        _n: c_int,
    ) -> raw::umode_t {
        // SAFETY: The group is only installed on network devices, whose kobject is that of their
        // embedded `struct device`.
        let dev = unsafe { Self::device(raw::kobj_to_dev(kobj)) };
        if !dev.is_driver::<T>() {
            return 0;
        }
        // SAFETY: The attribute is one of the group's `IndexedAttr`s; the device's data is set
        // before it is registered.
        let (dev, data, ia) = unsafe {
            let ia = &*attr.cast::<IndexedAttr>();
            (dev, driver_data::<T>(dev.as_raw()), ia)
        };
        if T::visible(dev, data, ia.index) {
            ia.attr.attr.mode
        } else {
            0
        }
    }
}

/// Declares the static attribute group `$name` of the [`Attributes`] implementation `$t`.
macro_rules! attr_group {
    ($vis:vis static $name:ident: $t:ty) => {
        $vis static $name: $crate::rust_bindings::net::AttrGroup<$t> =
            $crate::rust_bindings::net::AttrGroup::new(&raw const $name);
    };
}

pub(crate) use attr_group;
