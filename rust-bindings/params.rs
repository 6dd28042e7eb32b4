// SPDX-License-Identifier: GPL-2.0

//! Module parameters declared in C.
//!
//! `module!` has no `params` key before v6.19, so a module declares its parameters with
//! `module_param_named()` in a C file of the same composite module and reaches them with
//! [`c_int_param!`].

/// Declares a module `$name` with `get()` and `set()` for the C `int` variable `$sym` backing a
/// module parameter.
///
/// Reads and writes are volatile: a `0644` parameter can be rewritten through sysfs at any time
/// (an aligned `int` store, as the C drivers' readers assume).
macro_rules! c_int_param {
    ($(#[$meta:meta])* $vis:vis $name:ident => $sym:ident) => {
        $(#[$meta])*
        // A parameter may be only read, only written back, or not used yet by every path.
        #[allow(dead_code)]
        // The unsafe code is this macro's, not the invoking driver's.
        #[allow(unsafe_code)]
        $vis mod $name {
            extern "C" {
                static mut $sym: ::kernel::ffi::c_int;
            }

            /// Returns the parameter's current value.
            pub(crate) fn get() -> i32 {
                // SAFETY: `$sym` is a C `int` with static storage defined by this module; the
                // access is volatile and aligned, so a concurrent sysfs write is seen whole.
                unsafe { ::core::ptr::read_volatile(::core::ptr::addr_of!($sym)) }
            }

            /// Sets the parameter (the value `/sys/module/*/parameters/` then shows).
            pub(crate) fn set(value: i32) {
                // SAFETY: As in `get`.
                unsafe { ::core::ptr::write_volatile(::core::ptr::addr_of_mut!($sym), value) }
            }
        }
    };
}

pub(crate) use c_int_param;
