// SPDX-License-Identifier: GPL-2.0

//! Memory regions (C: drivers/infiniband/hw/mlx4/mr.c): the DMA MR covering all memory, and
//! the regions of processes' memory.

use crate::device::Mlx4Ib;
use crate::rust_bindings::mlx4;
use crate::rust_bindings::rdma::provider::{
    user_range_writable, Mr, MrCore, MrOps, Pd, Sleepable, Umem, User, UserRegion,
    ACCESS_LOCAL_WRITE,
};
use crate::rust_bindings::sync::{new_spinlock_irq, SpinLockIrq};
use kernel::prelude::*;

/// The rights that need writable pages (`ib_access_writable`): local and remote write,
/// atomics, memory window binding.
const WRITE_ACCESS: u32 = (1 << 0) | (1 << 1) | (1 << 3) | (1 << 4);

/// An MR registered with the HCA. `None` once deregistered.
#[pin_data]
pub(crate) struct Mlx4Mr {
    #[pin]
    mr: SpinLockIrq<Option<mlx4::Mr>>,
}

impl MrOps<Mlx4Ib> for Mlx4Mr {
    fn get_dma_mr<'a>(
        pd: &'a Pd<Mlx4Ib>,
        core: &mut MrCore<'_>,
        access: u32,
        _cx: &'a Sleepable<'a>,
    ) -> Result<impl PinInit<Self, Error> + 'a> {
        let dev = pd.device();
        let mr = mlx4::Mr::dma(dev.mdev(), pd.raw_pd(), mlx4::convert_access(access))?;
        core.set_keys(mr.lkey(), mr.rkey());
        Ok(try_pin_init!(Self {
            mr <- new_spinlock_irq!(Some(mr), "mlx4_ib_mr"),
        }? Error))
    }

    fn reg_user<'a>(
        pd: &'a Pd<Mlx4Ib>,
        core: &mut MrCore<'_>,
        r: UserRegion,
        _user: &'a User<'a, Mlx4Ib>,
        cx: &'a Sleepable<'a>,
    ) -> Result<impl PinInit<Self, Error> + 'a> {
        let dev = pd.device();
        // Pin writable pages if the mapping is writable, so that a later rereg can grant write
        // access (`mlx4_get_umem_mr`).
        let mut access = r.access;
        if access & WRITE_ACCESS == 0 {
            let (one, writable) = user_range_writable(r.start, r.length, cx);
            if writable || !one {
                access |= ACCESS_LOCAL_WRITE;
            }
        }
        let len = usize::try_from(r.length).map_err(|_| EINVAL)?;
        let umem = Umem::get(dev, r.start, len, access, cx)?;
        let (mr, shift) = mlx4::Mr::user(
            dev.mdev(),
            pd.raw_pd(),
            umem,
            r.start,
            r.virt,
            r.length,
            mlx4::convert_access(r.access),
        )?;
        core.set_keys(mr.key(), mr.key());
        core.set_page_size(1u32 << shift);
        Ok(try_pin_init!(Self {
            mr <- new_spinlock_irq!(Some(mr), "mlx4_ib_mr"),
        }? Error))
    }

    fn dereg(mr: &Mr<Mlx4Ib>, _cx: &Sleepable<'_>) -> Result {
        let Some(m) = mr.mr.lock().take() else {
            return Ok(());
        };
        match m.free() {
            Ok(()) => Ok(()),
            Err((m, e)) => {
                // Still registered: keep it usable, as the C driver does.
                *mr.mr.lock() = Some(m);
                Err(e)
            }
        }
    }
}
