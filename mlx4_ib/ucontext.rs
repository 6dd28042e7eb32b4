// SPDX-License-Identifier: GPL-2.0

//! User contexts (C: drivers/infiniband/hw/mlx4/main.c, `mlx4_ib_alloc_ucontext`,
//! `mlx4_ib_mmap`; doorbell.c, the user doorbell pages).
//!
//! Each process that opens the device gets a UAR page of its own, which it maps (offset 0) and
//! rings its queues' doorbells on, and shares with the HCA the doorbell records of its queues:
//! the pages holding them are pinned once per context and counted by the queues using them.

use crate::device::Mlx4Ib;
use crate::hw::abi::{UcontextResp, ABI_VERSION};
use crate::rust_bindings::mlx4::Uar;
use crate::rust_bindings::rdma::provider::{
    Dev, Sleepable, UContext, UContextOps, UData, Umem, UserMap,
};
use kernel::new_mutex;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;
use kernel::rbtree::RBTree;
use kernel::sync::{Arc, Mutex};

/// The `mmap` offsets of the ABI (pages).
const MMAP_UAR: u64 = 0;
const MMAP_BLUEFLAME: u64 = 1;
const MMAP_CLOCK: u64 = 3;

/// A context's pinned pages of doorbell records (`db_page_list`), by address.
#[pin_data]
pub(crate) struct DbPages {
    #[pin]
    pages: Mutex<RBTree<u64, DbPage>>,
}

/// One pinned page and how many queues use records in it.
struct DbPage {
    refcnt: u32,
    umem: Umem,
}

/// A queue's doorbell record in a process's memory (`mlx4_ib_db_map_user`): its page stays
/// pinned while any record of the page is in use.
pub(crate) struct UserDb {
    pages: Arc<DbPages>,
    page: u64,
    dma: u64,
}

impl UserDb {
    /// The record's bus address, for the queue's context.
    pub(crate) fn dma(&self) -> u64 {
        self.dma
    }
}

impl Drop for UserDb {
    fn drop(&mut self) {
        // `mlx4_ib_db_unmap_user`: the last record of a page unpins it.
        let mut g = self.pages.pages.lock();
        let last = match g.get_mut(&self.page) {
            Some(p) => {
                p.refcnt -= 1;
                p.refcnt == 0
            }
            None => false,
        };
        if last {
            drop(g.remove(&self.page));
        }
    }
}

/// A process's context.
#[pin_data]
pub(crate) struct Mlx4UContext {
    /// The UAR page of the process's queues.
    uar: Uar,
    db_pages: Arc<DbPages>,
}

impl Mlx4UContext {
    /// The UAR page of the process's queues.
    pub(crate) fn uar(&self) -> &Uar {
        &self.uar
    }

    /// Maps the doorbell record at `virt` of the process (`mlx4_ib_db_map_user`).
    pub(crate) fn map_db(
        &self,
        dev: &Dev<Mlx4Ib>,
        virt: u64,
        cx: &Sleepable<'_>,
    ) -> Result<UserDb> {
        let mask = PAGE_SIZE as u64 - 1;
        let page = virt & !mask;
        let mut g = self.db_pages.pages.lock();
        if g.get(&page).is_none() {
            let umem = Umem::get(dev, page, PAGE_SIZE, 0, cx)?;
            g.try_create_and_insert(page, DbPage { refcnt: 0, umem }, GFP_KERNEL)?;
        }
        let p = g.get_mut(&page).ok_or(EINVAL)?;
        let dma = match p.umem.first_page_dma() {
            Ok(d) => d + (virt & mask),
            Err(e) => {
                if p.refcnt == 0 {
                    drop(g.remove(&page));
                }
                return Err(e);
            }
        };
        p.refcnt += 1;
        Ok(UserDb {
            pages: self.db_pages.clone(),
            page,
            dma,
        })
    }
}

impl UContextOps<Mlx4Ib> for Mlx4UContext {
    fn alloc<'a>(
        dev: &'a Dev<Mlx4Ib>,
        udata: &'a UData<'a>,
        cx: &'a Sleepable<'a>,
    ) -> Result<impl PinInit<Self, Error> + 'a> {
        let caps = &dev.caps;
        let resp = UcontextResp {
            dev_caps: caps.userspace_caps,
            qp_tab_size: caps.num_qps,
            bf_reg_size: caps.bf_reg_size as u16,
            bf_regs_per_page: caps.bf_regs_per_page as u16,
            cqe_size: caps.cqe_size,
        };
        let uar = Uar::new(dev.mdev())?;
        let db_pages = Arc::pin_init(
            pin_init!(DbPages {
                pages <- new_mutex!(RBTree::new(), "mlx4_ib_db_pages"),
            }),
            GFP_KERNEL,
        )?;
        if dev.uverbs_abi() == ABI_VERSION {
            udata.respond(&resp.to_v4(), cx)?;
        } else {
            udata.respond(&resp.to_v3(), cx)?;
        }
        Ok(Self { uar, db_pages })
    }

    fn mmap(ctx: &UContext<Mlx4Ib>, map: UserMap<'_>, _cx: &Sleepable<'_>) -> Result {
        let dev = ctx.device();
        match map.pgoff() {
            MMAP_UAR => ctx.uar.map_user(map),
            MMAP_BLUEFLAME => ctx
                .uar
                .map_user_bf(map, dev.caps.bf_reg_size, dev.caps.num_uars),
            MMAP_CLOCK => dev.mdev().map_user_clock(map),
            _ => Err(EINVAL),
        }
    }
}
