// SPDX-License-Identifier: GPL-2.0

//! Network devices (`struct net_device`) and their operations (`net_device_ops`, `header_ops`).

use super::{SkBuff, SkBuffRef};
use crate::rust_bindings::raw;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::{from_result, to_result, Result, VTABLE_DEFAULT_ERROR};
use kernel::ffi::{c_int, c_uint, c_ushort, c_void};
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::types::{ForeignOwnable, Opaque};

/// A network device.
///
/// # Invariants
///
/// References only exist while the device is allocated: inside its operations, or borrowed from
/// the [`Registration`] that owns it.
#[repr(transparent)]
pub(crate) struct NetDevice(Opaque<raw::net_device>);

// SAFETY: `net_device` is used from any thread; every method calls thread-safe kernel functions
// or reads fields that the kernel itself reads without locks.
unsafe impl Sync for NetDevice {}
// SAFETY: As above.
unsafe impl Send for NetDevice {}

impl NetDevice {
    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to an allocated `net_device` that stays allocated for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut raw::net_device) -> &'a Self {
        // SAFETY: `repr(transparent)`; validity is the caller's promise.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// Returns the raw pointer.
    pub(crate) fn as_raw(&self) -> *mut raw::net_device {
        self.0.get()
    }

    /// Returns the interface name.
    pub(crate) fn name(&self) -> &CStr {
        // SAFETY: `name` is a NUL-terminated array inside the device (renames rewrite it in place
        // under RTNL; a racing reader may see a torn name, as C readers do).
        unsafe { CStr::from_char_ptr((*self.as_raw()).name.as_ptr()) }
    }

    /// Returns the interface index (0 before registration).
    pub(crate) fn ifindex(&self) -> i32 {
        // SAFETY: The device is valid; `ifindex` is an `int` set once at registration.
        unsafe { (*self.as_raw()).ifindex }
    }

    /// Returns the current MTU.
    pub(crate) fn mtu(&self) -> u32 {
        // SAFETY: The device is valid; `READ_ONCE(dev->mtu)` semantics, as in C readers.
        unsafe { core::ptr::read_volatile(&raw const (*self.as_raw()).mtu) }
    }

    /// Changes the MTU through the core (`dev_set_mtu`: validation, `ndo_change_mtu`,
    /// notifications); RTNL must be held, which `_rtnl` proves.
    pub(crate) fn set_mtu(&self, _rtnl: &super::Rtnl, mtu: u32) -> Result {
        let mtu = c_int::try_from(mtu).map_err(|_| EINVAL)?;
        // SAFETY: The device is valid and RTNL is held.
        to_result(unsafe { raw::dev_set_mtu(self.as_raw(), mtu) })
    }

    /// Returns whether this is the same device as `other`.
    pub(crate) fn is(&self, other: &NetDevice) -> bool {
        core::ptr::eq(self.as_raw(), other.as_raw())
    }

    /// Stores a new MTU; callers validate it and hold RTNL (`ndo_change_mtu` runs under it).
    pub(crate) fn set_mtu_field(&self, mtu: u32) {
        // SAFETY: The device is valid; `WRITE_ONCE(dev->mtu, ...)`, as `dev_set_mtu` does.
        unsafe { core::ptr::write_volatile(&raw mut (*self.as_raw()).mtu, mtu) }
    }

    /// Returns the hardware address (`dev_addr`, `addr_len` bytes).
    pub(crate) fn dev_addr(&self) -> &[u8] {
        let dev = self.as_raw();
        // SAFETY: `dev_addr` points to `addr_len` bytes owned by the device for its lifetime.
        unsafe { core::slice::from_raw_parts((*dev).dev_addr, usize::from((*dev).addr_len)) }
    }

    /// Returns the broadcast address (`addr_len` bytes).
    pub(crate) fn broadcast(&self) -> &[u8] {
        let dev = self.as_raw();
        // SAFETY: `broadcast` is an array inside the device; `addr_len` never exceeds it
        // (`MAX_ADDR_LEN`).
        unsafe {
            let len = usize::from((*dev).addr_len).min((*dev).broadcast.len());
            core::slice::from_raw_parts((*dev).broadcast.as_ptr(), len)
        }
    }

    /// Sets the hardware address (`dev_addr_mod`); the caller holds RTNL or the device is not
    /// registered yet.
    pub(crate) fn set_dev_addr(&self, addr: &[u8]) {
        let dev = self.as_raw();
        // SAFETY: The device is valid; `addr` is readable for its length, clamped to `addr_len`.
        unsafe {
            let len = addr.len().min(usize::from((*dev).addr_len));
            raw::dev_addr_mod(dev, 0, addr.as_ptr().cast(), len)
        }
    }

    /// Turns the carrier on.
    pub(crate) fn carrier_on(&self) {
        // SAFETY: The device is valid; `netif_carrier_on` may be called in any context.
        unsafe { raw::netif_carrier_on(self.as_raw()) }
    }

    /// Turns the carrier off.
    pub(crate) fn carrier_off(&self) {
        // SAFETY: As in `carrier_on`.
        unsafe { raw::netif_carrier_off(self.as_raw()) }
    }

    /// Returns whether the carrier is on.
    pub(crate) fn carrier_ok(&self) -> bool {
        // SAFETY: The device is valid.
        unsafe { raw::netif_carrier_ok(self.as_raw()) }
    }

    /// Returns whether the interface is up (`netif_running`).
    pub(crate) fn is_running(&self) -> bool {
        // SAFETY: The device is valid.
        unsafe { raw::netif_running(self.as_raw()) }
    }

    /// Allows the stack to transmit.
    pub(crate) fn start_queue(&self) {
        // SAFETY: The device is valid and has one TX queue.
        unsafe { raw::netif_start_queue(self.as_raw()) }
    }

    /// Stops the stack from transmitting.
    pub(crate) fn stop_queue(&self) {
        // SAFETY: As in `start_queue`.
        unsafe { raw::netif_stop_queue(self.as_raw()) }
    }

    /// Restarts a stopped queue and reschedules it.
    pub(crate) fn wake_queue(&self) {
        // SAFETY: As in `start_queue`.
        unsafe { raw::netif_wake_queue(self.as_raw()) }
    }

    /// Returns whether the queue is stopped.
    pub(crate) fn queue_stopped(&self) -> bool {
        // SAFETY: As in `start_queue`.
        unsafe { raw::netif_queue_stopped(self.as_raw()) }
    }

    /// Stops the queue, waiting for a running `ndo_start_xmit` to finish (`netif_tx_disable`).
    pub(crate) fn tx_disable(&self) {
        // SAFETY: As in `start_queue`; process or BH context.
        unsafe { raw::netif_tx_disable(self.as_raw()) }
    }

    /// Calls `f` with each address of the multicast list, from `ndo_set_rx_mode` (which runs
    /// with the address lock held); returns how many addresses the list holds.
    ///
    /// At most 64 addresses are visited; devices with longer lists are rare and the caller
    /// compares the count.
    pub(crate) fn for_each_mc_locked(&self, f: impl FnMut(&[u8; 20])) -> Result<usize> {
        const MAX: usize = 64;
        let mut buf = [[0u8; 20]; MAX];
        // SAFETY: The device is valid and its `addr_len` is checked to be 20; the helper copies
        // at most `MAX` entries of 20 bytes; the caller (an `ndo_set_rx_mode` implementation)
        // holds the address lock, so the helper must not take it.
        let n = unsafe {
            if (*self.as_raw()).addr_len != 20 {
                return Err(EINVAL);
            }
            raw::netdev_mc_copy(self.as_raw(), buf.as_mut_ptr().cast(), MAX as i32, false)
        };
        let n = usize::try_from(n).unwrap_or(0);
        buf.iter().take(n.min(MAX)).for_each(f);
        Ok(n)
    }
}

/// Link statistics reported through `ndo_get_stats64`.
#[derive(Default, Clone, Copy)]
pub(crate) struct LinkStats {
    pub(crate) rx_packets: u64,
    pub(crate) rx_bytes: u64,
    pub(crate) rx_dropped: u64,
    pub(crate) rx_errors: u64,
    pub(crate) multicast: u64,
    pub(crate) tx_packets: u64,
    pub(crate) tx_bytes: u64,
    pub(crate) tx_dropped: u64,
    pub(crate) tx_errors: u64,
}

/// What `ethtool -i` shows (`struct ethtool_drvinfo`).
#[derive(Default)]
pub(crate) struct DrvInfo {
    pub(crate) driver: [u8; 32],
    pub(crate) fw_version: [u8; 32],
    pub(crate) bus_info: [u8; 32],
}

/// Copies `s` into a NUL-padded C string field, truncating it.
pub(crate) fn fill_cstr(dst: &mut [u8; 32], s: &[u8]) {
    let n = s.len().min(dst.len() - 1);
    dst.fill(0);
    dst[..n].copy_from_slice(&s[..n]);
}

/// What `ethtool DEV` shows (`ethtool_link_ksettings.base`).
pub(crate) enum LinkSettings {
    /// Speed and duplex unknown (no carrier).
    Unknown,
    /// Full duplex at `speed` Mbit/s, autonegotiated, port type "Other".
    Full {
        /// Mbit/s.
        speed: u32,
    },
}

/// Operations of a network device driver (`net_device_ops` and `header_ops.create`).
#[vtable]
pub(crate) trait Ops: Sized + 'static {
    /// The driver's per-device data, kept in the device's private area.
    type Data: ForeignOwnable + Send + Sync;

    /// `ndo_open`: the interface is brought up.
    fn open(_dev: &NetDevice, _data: <Self::Data as ForeignOwnable>::Borrowed<'_>) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_stop`: the interface is brought down.
    fn stop(_dev: &NetDevice, _data: <Self::Data as ForeignOwnable>::Borrowed<'_>) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_start_xmit`: send `skb` (which starts with the hard header `create` pushed); the
    /// packet is always consumed.
    fn start_xmit(
        _skb: SkBuff,
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
    ) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_get_stats64`.
    fn get_stats64(
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
    ) -> LinkStats {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_change_mtu`: validate and apply `new_mtu` (RTNL held).
    fn change_mtu(
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _new_mtu: i32,
    ) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_set_rx_mode`: the multicast list or flags changed (atomic context).
    fn set_rx_mode(_dev: &NetDevice, _data: <Self::Data as ForeignOwnable>::Borrowed<'_>) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_tx_timeout`: the queue has been stopped for longer than the watchdog timeout.
    fn tx_timeout(_dev: &NetDevice, _data: <Self::Data as ForeignOwnable>::Borrowed<'_>) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ethtool_ops.get_drvinfo`.
    fn get_drvinfo(
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _info: &mut DrvInfo,
    ) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ethtool_ops.get_link_ksettings` (RTNL held).
    fn get_link_ksettings(
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
    ) -> Result<LinkSettings> {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `header_ops.create`: push the link-level header for a packet of `proto` (host order) to
    /// `daddr` (`None`: the broadcast address); returns the header length.
    fn create_header(
        _skb: &SkBuffRef,
        _dev: &NetDevice,
        _proto: u16,
        _daddr: Option<&[u8]>,
    ) -> Result<i32> {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
}

/// How a device looks to the stack, applied before registration.
pub(crate) struct Config<'a> {
    /// Name template (`"ib%d"`).
    pub(crate) name: &'static CStr,
    /// `ARPHRD_*` type.
    pub(crate) type_: u16,
    /// Hardware address.
    pub(crate) addr: &'a [u8],
    /// Broadcast address (same length).
    pub(crate) broadcast: &'a [u8],
    /// Link-level header length pushed by `create_header`.
    pub(crate) hard_header_len: u16,
    /// `IFF_*` flags.
    pub(crate) flags: u32,
    /// Default TX queue length.
    pub(crate) tx_queue_len: u32,
    /// TX watchdog timeout in jiffies.
    pub(crate) watchdog_timeo: i32,
    /// Initial, minimum and maximum MTU.
    pub(crate) mtu: u32,
    pub(crate) min_mtu: u32,
    pub(crate) max_mtu: u32,
    /// `dev_port` and `dev_id`.
    pub(crate) dev_port: u16,
    pub(crate) dev_id: u16,
    /// Parent device in sysfs (`SET_NETDEV_DEV`), e.g. the HCA's PCI device.
    pub(crate) parent: Option<NonNull<raw::device>>,
}

/// A registered network device and its driver data; dropping it unregisters the device (which
/// stops it first) and then frees it.
pub(crate) struct Registration<T: Ops> {
    dev: NonNull<raw::net_device>,
    _t: PhantomData<T>,
}

// SAFETY: The registration only holds the device pointer; the device is usable from any thread.
unsafe impl<T: Ops> Send for Registration<T> {}
// SAFETY: As above.
unsafe impl<T: Ops> Sync for Registration<T> {}

/// The `setup` callback of `alloc_netdev_mqs`: [`Registration::register`] configures the device
/// itself, but a non-zero queue length must be set here, or `alloc_netdev_mqs` marks the device
/// `IFF_NO_QUEUE` and it gets no qdisc.
///
/// # Safety
///
/// Called by `alloc_netdev_mqs` only, with the device it is allocating.
unsafe extern "C" fn setup_nothing(dev: *mut raw::net_device) {
    // SAFETY: `dev` is the device being allocated, exclusively ours.
    unsafe { (*dev).tx_queue_len = raw::DEFAULT_TX_QUEUE_LEN }
}

impl<T: Ops> Registration<T> {
    /// Allocates a device, stores `data` in it, configures it and registers it.
    pub(crate) fn register(cfg: &Config<'_>, data: T::Data) -> Result<Self> {
        if cfg.addr.len() != cfg.broadcast.len() || cfg.addr.len() > raw::MAX_ADDR_LEN as usize {
            return Err(EINVAL);
        }
        let priv_size =
            c_int::try_from(core::mem::size_of::<*const c_void>()).map_err(|_| EINVAL)?;
        // SAFETY: `name` is a valid C string; the setup function does nothing; one TX and one RX
        // queue.
        let dev = unsafe {
            raw::alloc_netdev_mqs(
                priv_size,
                cfg.name.as_char_ptr(),
                raw::NET_NAME_UNKNOWN,
                Some(setup_nothing),
                1,
                1,
            )
        };
        let dev = NonNull::new(dev).ok_or(ENOMEM)?;
        let d = dev.as_ptr();
        // SAFETY: `d` is a freshly allocated, unregistered device that only this function sees;
        // its private area holds one pointer (`priv_size`).
        unsafe {
            raw::netdev_priv(d)
                .cast::<*const c_void>()
                .write(data.into_foreign());
            (*d).netdev_ops = Adapter::<T>::build_ops();
            (*d).header_ops = Adapter::<T>::build_header_ops();
            (*d).ethtool_ops = Adapter::<T>::build_ethtool_ops();
            (*d).type_ = cfg.type_;
            (*d).addr_len = cfg.addr.len() as u8;
            (*d).hard_header_len = cfg.hard_header_len;
            (*d).flags = cfg.flags;
            (*d).tx_queue_len = cfg.tx_queue_len;
            (*d).watchdog_timeo = cfg.watchdog_timeo;
            (*d).mtu = cfg.mtu;
            (*d).min_mtu = cfg.min_mtu;
            (*d).max_mtu = cfg.max_mtu;
            (*d).dev_port = cfg.dev_port;
            (*d).dev_id = cfg.dev_id;
            core::ptr::copy_nonoverlapping(
                cfg.broadcast.as_ptr(),
                (&raw mut (*d).broadcast).cast::<u8>(),
                cfg.broadcast.len(),
            );
            raw::dev_addr_mod(d, 0, cfg.addr.as_ptr().cast(), cfg.addr.len());
            if let Some(parent) = cfg.parent {
                raw::set_netdev_dev(d, parent.as_ptr());
            }
            raw::netif_carrier_off(d);
        }
        // SAFETY: `d` is fully configured and not registered.
        let ret = to_result(unsafe { raw::register_netdev(d) });
        if let Err(e) = ret {
            // SAFETY: Registration failed, so no operation can run any more: take the data back
            // and free the device.
            unsafe {
                drop(T::Data::from_foreign(
                    *raw::netdev_priv(d).cast::<*const c_void>(),
                ));
                raw::free_netdev(d);
            }
            return Err(e);
        }
        Ok(Self {
            dev,
            _t: PhantomData,
        })
    }

    /// Returns the device.
    pub(crate) fn device(&self) -> &NetDevice {
        // SAFETY: The device stays allocated until `drop`.
        unsafe { NetDevice::from_raw(self.dev.as_ptr()) }
    }
}

impl<T: Ops> Drop for Registration<T> {
    fn drop(&mut self) {
        let d = self.dev.as_ptr();
        // SAFETY: The device was registered by `register`. After `unregister_netdev` returns no
        // operation runs, so the private pointer can be reclaimed and the device freed.
        unsafe {
            raw::unregister_netdev(d);
            drop(T::Data::from_foreign(
                *raw::netdev_priv(d).cast::<*const c_void>(),
            ));
            raw::free_netdev(d);
        }
    }
}

struct Adapter<T: Ops>(PhantomData<T>);

impl<T: Ops> Adapter<T> {
    /// # Safety
    ///
    /// `dev` must be a device registered by [`Registration::register`] for `T`, inside one of
    /// its operations (so its private pointer is set and outlives the borrow).
    unsafe fn data<'a>(dev: *mut raw::net_device) -> <T::Data as ForeignOwnable>::Borrowed<'a> {
        // SAFETY: Per the function's contract, the private area holds the `into_foreign`
        // pointer, reclaimed only after unregistration.
        unsafe { T::Data::borrow(*raw::netdev_priv(dev).cast::<*const c_void>()) }
    }

    /// # Safety
    ///
    /// Called by the networking core only.
    unsafe extern "C" fn open_callback(dev: *mut raw::net_device) -> c_int {
        from_result(|| {
            // SAFETY: The core calls ndo ops on a registered device.
            let (ndev, data) = unsafe { (NetDevice::from_raw(dev), Self::data(dev)) };
            T::open(ndev, data)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the networking core only.
    unsafe extern "C" fn stop_callback(dev: *mut raw::net_device) -> c_int {
        from_result(|| {
            // SAFETY: As in `open_callback`.
            let (ndev, data) = unsafe { (NetDevice::from_raw(dev), Self::data(dev)) };
            T::stop(ndev, data)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the networking core only, with an skb the driver now owns.
    unsafe extern "C" fn start_xmit_callback(
        skb: *mut raw::sk_buff,
        dev: *mut raw::net_device,
    ) -> raw::netdev_tx_t {
        // SAFETY: As in `open_callback`; `ndo_start_xmit` hands over the skb.
        let (ndev, data, skb) = unsafe {
            (
                NetDevice::from_raw(dev),
                Self::data(dev),
                SkBuff::from_raw(skb),
            )
        };
        if let Some(skb) = skb {
            T::start_xmit(skb, ndev, data);
        }
        raw::netdev_tx_NETDEV_TX_OK
    }

    /// # Safety
    ///
    /// Called by the networking core only.
    unsafe extern "C" fn get_stats64_callback(
        dev: *mut raw::net_device,
        stats: *mut raw::rtnl_link_stats64,
    ) {
        // SAFETY: As in `open_callback`.
        let (ndev, data) = unsafe { (NetDevice::from_raw(dev), Self::data(dev)) };
        let s = T::get_stats64(ndev, data);
        // SAFETY: The core passes a valid, writable `rtnl_link_stats64`.
        let out = unsafe { &mut *stats };
        out.rx_packets = s.rx_packets;
        out.rx_bytes = s.rx_bytes;
        out.rx_dropped = s.rx_dropped;
        out.rx_errors = s.rx_errors;
        out.multicast = s.multicast;
        out.tx_packets = s.tx_packets;
        out.tx_bytes = s.tx_bytes;
        out.tx_dropped = s.tx_dropped;
        out.tx_errors = s.tx_errors;
    }

    /// # Safety
    ///
    /// Called by the networking core only, under RTNL.
    unsafe extern "C" fn change_mtu_callback(dev: *mut raw::net_device, new_mtu: c_int) -> c_int {
        from_result(|| {
            // SAFETY: As in `open_callback`.
            let (ndev, data) = unsafe { (NetDevice::from_raw(dev), Self::data(dev)) };
            T::change_mtu(ndev, data, new_mtu)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the networking core only.
    unsafe extern "C" fn set_rx_mode_callback(dev: *mut raw::net_device) {
        // SAFETY: As in `open_callback`.
        let (ndev, data) = unsafe { (NetDevice::from_raw(dev), Self::data(dev)) };
        T::set_rx_mode(ndev, data);
    }

    /// # Safety
    ///
    /// Called by the networking core only.
    unsafe extern "C" fn tx_timeout_callback(dev: *mut raw::net_device, _txqueue: c_uint) {
        // SAFETY: As in `open_callback`.
        let (ndev, data) = unsafe { (NetDevice::from_raw(dev), Self::data(dev)) };
        T::tx_timeout(ndev, data);
    }

    /// # Safety
    ///
    /// Called by the networking core only, for a device of this driver.
    unsafe extern "C" fn create_callback(
        skb: *mut raw::sk_buff,
        dev: *mut raw::net_device,
        type_: c_ushort,
        daddr: *const c_void,
        _saddr: *const c_void,
        _len: c_uint,
    ) -> c_int {
        // SAFETY: `dev` is valid (the core builds a header for a packet it is about to send on
        // it); `skb` is the caller's and valid for the call; `daddr`, when set, points to
        // `addr_len` bytes.
        let (ndev, skb, daddr) = unsafe {
            let ndev = NetDevice::from_raw(dev);
            let daddr = if daddr.is_null() {
                None
            } else {
                Some(core::slice::from_raw_parts(
                    daddr.cast::<u8>(),
                    usize::from((*dev).addr_len),
                ))
            };
            (ndev, SkBuffRef::from_raw(skb), daddr)
        };
        match T::create_header(skb, ndev, type_, daddr) {
            Ok(len) => len,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by the ethtool core only.
    unsafe extern "C" fn get_drvinfo_callback(
        dev: *mut raw::net_device,
        info: *mut raw::ethtool_drvinfo,
    ) {
        // SAFETY: As in `open_callback`.
        let (ndev, data) = unsafe { (NetDevice::from_raw(dev), Self::data(dev)) };
        let mut d = DrvInfo::default();
        T::get_drvinfo(ndev, data, &mut d);
        // SAFETY: The core passes a valid, writable `ethtool_drvinfo`; the three fields are
        // 32-byte `char` arrays, as `DrvInfo`'s, and the copies keep a final NUL.
        unsafe {
            let info = &mut *info;
            for (dst, src) in [
                (&mut info.driver, &d.driver),
                (&mut info.fw_version, &d.fw_version),
                (&mut info.bus_info, &d.bus_info),
            ] {
                core::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr().cast::<u8>(), 32);
            }
        }
    }

    /// # Safety
    ///
    /// Called by the ethtool core only, under RTNL.
    unsafe extern "C" fn get_link_ksettings_callback(
        dev: *mut raw::net_device,
        cmd: *mut raw::ethtool_link_ksettings,
    ) -> c_int {
        from_result(|| {
            // SAFETY: As in `open_callback`.
            let (ndev, data) = unsafe { (NetDevice::from_raw(dev), Self::data(dev)) };
            let s = T::get_link_ksettings(ndev, data)?;
            // SAFETY: The core passes a valid, writable, zeroed `ethtool_link_ksettings`.
            let base = unsafe { &mut (*cmd).base };
            match s {
                LinkSettings::Unknown => {
                    base.speed = raw::SPEED_UNKNOWN as u32;
                    base.duplex = raw::DUPLEX_UNKNOWN as u8;
                }
                LinkSettings::Full { speed } => {
                    base.speed = speed;
                    base.duplex = raw::DUPLEX_FULL as u8;
                    base.phy_address = 0xff;
                    base.autoneg = raw::AUTONEG_ENABLE as u8;
                    base.port = raw::PORT_OTHER as u8;
                }
            }
            Ok(0)
        })
    }

    const ETHTOOL_OPS: raw::ethtool_ops = raw::ethtool_ops {
        get_drvinfo: if T::HAS_GET_DRVINFO {
            Some(Self::get_drvinfo_callback)
        } else {
            None
        },
        get_link_ksettings: if T::HAS_GET_LINK_KSETTINGS {
            Some(Self::get_link_ksettings_callback)
        } else {
            None
        },
        get_link: Some(raw::ethtool_op_get_link),
        // SAFETY: All other operations are `None` and capabilities zero, as in C.
        ..unsafe { core::mem::MaybeUninit::<raw::ethtool_ops>::zeroed().assume_init() }
    };

    const fn build_ethtool_ops() -> &'static raw::ethtool_ops {
        &Self::ETHTOOL_OPS
    }

    const OPS: raw::net_device_ops = raw::net_device_ops {
        ndo_open: if T::HAS_OPEN {
            Some(Self::open_callback)
        } else {
            None
        },
        ndo_stop: if T::HAS_STOP {
            Some(Self::stop_callback)
        } else {
            None
        },
        ndo_start_xmit: if T::HAS_START_XMIT {
            Some(Self::start_xmit_callback)
        } else {
            None
        },
        ndo_get_stats64: if T::HAS_GET_STATS64 {
            Some(Self::get_stats64_callback)
        } else {
            None
        },
        ndo_change_mtu: if T::HAS_CHANGE_MTU {
            Some(Self::change_mtu_callback)
        } else {
            None
        },
        ndo_set_rx_mode: if T::HAS_SET_RX_MODE {
            Some(Self::set_rx_mode_callback)
        } else {
            None
        },
        ndo_tx_timeout: if T::HAS_TX_TIMEOUT {
            Some(Self::tx_timeout_callback)
        } else {
            None
        },
        // SAFETY: All other operations are `None`, as in a C initialiser.
        ..unsafe { core::mem::MaybeUninit::<raw::net_device_ops>::zeroed().assume_init() }
    };

    const HEADER_OPS: raw::header_ops = raw::header_ops {
        create: if T::HAS_CREATE_HEADER {
            Some(Self::create_callback)
        } else {
            None
        },
        // SAFETY: All other operations are `None`.
        ..unsafe { core::mem::MaybeUninit::<raw::header_ops>::zeroed().assume_init() }
    };

    const fn build_ops() -> &'static raw::net_device_ops {
        &Self::OPS
    }

    const fn build_header_ops() -> &'static raw::header_ops {
        &Self::HEADER_OPS
    }
}

// SAFETY: `dev_hold`/`dev_put` manage the netdev reference count, which is non-zero while a
// `&NetDevice` exists (the device is allocated). Holders must drop their references before the
// device is unregistered, or `unregister_netdevice` waits for them.
unsafe impl kernel::types::AlwaysRefCounted for NetDevice {
    fn inc_ref(&self) {
        // SAFETY: The device is valid.
        unsafe { raw::dev_hold(self.as_raw()) }
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns one reference.
        unsafe { raw::dev_put(obj.as_ptr().cast()) }
    }
}

impl NetDevice {
    /// Joins the IPv6 multicast group `group` on this device (`ipv6_dev_mc_inc`), so that its
    /// IPv6 stack accepts datagrams sent to it; may sleep.
    pub(crate) fn ipv6_mc_inc(&self, group: &[u8; 16]) -> Result {
        let addr = raw::in6_addr {
            in6_u: raw::in6_addr__bindgen_ty_1 { u6_addr8: *group },
        };
        // SAFETY: The device is valid; `addr` is valid for the call.
        to_result(unsafe { raw::ipv6_dev_mc_inc(self.as_raw(), &addr) })
    }

    /// Leaves a group joined with [`NetDevice::ipv6_mc_inc`].
    pub(crate) fn ipv6_mc_dec(&self, group: &[u8; 16]) -> Result {
        let addr = raw::in6_addr {
            in6_u: raw::in6_addr__bindgen_ty_1 { u6_addr8: *group },
        };
        // SAFETY: As in `ipv6_mc_inc`.
        to_result(unsafe { raw::ipv6_dev_mc_dec(self.as_raw(), &addr) })
    }
}
