// SPDX-License-Identifier: GPL-2.0
/*
 * C wrappers for the static inline kernel functions the Rust side calls.
 *
 * Each module links its own copy (see ipoib/ipoib_helpers.c and
 * mlx4_ib/mlx4_ib_helpers.c); bindgen turns the `rust_helper_` prototypes
 * into Rust declarations with the prefix dropped, as rust/helpers does.
 */
#include <linux/auxiliary_bus.h>
#include <linux/completion.h>
#include <linux/device.h>
#include <linux/dma-direct.h>
#include <linux/etherdevice.h>
#include <linux/icmpv6.h>
#include <linux/irq_work.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/mlx4/device.h>
#include <linux/mlx4/doorbell.h>
#include <linux/netdevice.h>
#include <linux/notifier.h>
#include <linux/pci.h>
#include <linux/radix-tree.h>
#include <linux/rcupdate.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/sched/signal.h>
#include <net/devlink.h>
#include <net/dst.h>
#include <net/icmp.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/netlink.h>
#include <rdma/ib_umem.h>
#include <rdma/ib_verbs.h>
#include <rdma/uverbs_ioctl.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>

u32 rust_helper_rdma_start_port(const struct ib_device *device)
{
	return rdma_start_port(device);
}

u32 rust_helper_rdma_end_port(const struct ib_device *device)
{
	return rdma_end_port(device);
}

bool rust_helper_rdma_protocol_ib(const struct ib_device *device, u32 port)
{
	return rdma_protocol_ib(device, port);
}

bool rust_helper_rdma_protocol_roce(const struct ib_device *device, u32 port)
{
	return rdma_protocol_roce(device, port);
}

bool rust_helper_rdma_protocol_iwarp(const struct ib_device *device, u32 port)
{
	return rdma_protocol_iwarp(device, port);
}

const char *rust_helper_dev_name(const struct device *dev)
{
	return dev_name(dev);
}

void *rust_helper_auxiliary_get_drvdata(struct auxiliary_device *adev)
{
	return auxiliary_get_drvdata(adev);
}

void rust_helper_auxiliary_set_drvdata(struct auxiliary_device *adev, void *data)
{
	auxiliary_set_drvdata(adev, data);
}

/* Locks */

void rust_helper_spin_lock_bh(spinlock_t *lock)
{
	spin_lock_bh(lock);
}

void rust_helper_spin_unlock_bh(spinlock_t *lock)
{
	spin_unlock_bh(lock);
}

void rust_helper_rcu_read_lock(void)
{
	rcu_read_lock();
}

void rust_helper_rcu_read_unlock(void)
{
	rcu_read_unlock();
}

/* RDMA verbs */

struct ib_pd *rust_helper_ib_alloc_pd(struct ib_device *device, unsigned int flags)
{
	return ib_alloc_pd(device, flags);
}

void rust_helper_ib_dealloc_pd(struct ib_pd *pd)
{
	ib_dealloc_pd(pd);
}

struct ib_cq *rust_helper_ib_create_cq(struct ib_device *device,
				       ib_comp_handler comp_handler,
				       void (*event_handler)(struct ib_event *, void *),
				       void *cq_context,
				       const struct ib_cq_init_attr *cq_attr)
{
	return ib_create_cq(device, comp_handler, event_handler, cq_context, cq_attr);
}

void rust_helper_ib_destroy_cq(struct ib_cq *cq)
{
	ib_destroy_cq(cq);
}

int rust_helper_ib_poll_cq(struct ib_cq *cq, int num_entries, struct ib_wc *wc)
{
	return ib_poll_cq(cq, num_entries, wc);
}

int rust_helper_ib_req_notify_cq(struct ib_cq *cq, enum ib_cq_notify_flags flags)
{
	return ib_req_notify_cq(cq, flags);
}

struct ib_qp *rust_helper_ib_create_qp(struct ib_pd *pd, struct ib_qp_init_attr *attr)
{
	return ib_create_qp(pd, attr);
}

int rust_helper_ib_destroy_qp(struct ib_qp *qp)
{
	return ib_destroy_qp(qp);
}

int rust_helper_ib_post_send(struct ib_qp *qp, const struct ib_send_wr *wr,
			     const struct ib_send_wr **bad_wr)
{
	return ib_post_send(qp, wr, bad_wr);
}

int rust_helper_ib_post_recv(struct ib_qp *qp, const struct ib_recv_wr *wr,
			     const struct ib_recv_wr **bad_wr)
{
	return ib_post_recv(qp, wr, bad_wr);
}

void rust_helper_rdma_destroy_ah(struct ib_ah *ah, u32 flags)
{
	rdma_destroy_ah(ah, flags);
}

u64 rust_helper_ib_dma_map_single(struct ib_device *dev, void *cpu_addr, size_t size,
				  enum dma_data_direction direction)
{
	return ib_dma_map_single(dev, cpu_addr, size, direction);
}

void rust_helper_ib_dma_unmap_single(struct ib_device *dev, u64 addr, size_t size,
				     enum dma_data_direction direction)
{
	ib_dma_unmap_single(dev, addr, size, direction);
}

void rust_helper_ib_dma_sync_single_for_cpu(struct ib_device *dev, u64 addr, size_t size,
					     enum dma_data_direction dir)
{
	ib_dma_sync_single_for_cpu(dev, addr, size, dir);
}

void rust_helper_ib_dma_sync_single_for_device(struct ib_device *dev, u64 addr, size_t size,
						enum dma_data_direction dir)
{
	ib_dma_sync_single_for_device(dev, addr, size, dir);
}

int rust_helper_ib_dma_mapping_error(struct ib_device *dev, u64 dma_addr)
{
	return ib_dma_mapping_error(dev, dma_addr);
}

u64 rust_helper_ib_dma_map_page(struct ib_device *dev, struct page *page, unsigned long offset,
				size_t size, enum dma_data_direction direction)
{
	return ib_dma_map_page(dev, page, offset, size, direction);
}

/* Maps fragment i of skb for the device to read; *size gets its length. */
u64 rust_helper_ib_dma_map_skb_frag(struct ib_device *dev, struct sk_buff *skb, unsigned int i,
				    unsigned int *size)
{
	const skb_frag_t *frag = &skb_shinfo(skb)->frags[i];

	*size = skb_frag_size(frag);
	return ib_dma_map_page(dev, skb_frag_page(frag), skb_frag_off(frag), *size,
			       DMA_TO_DEVICE);
}

void rust_helper_ib_dma_unmap_page(struct ib_device *dev, u64 addr, size_t size,
				   enum dma_data_direction direction)
{
	ib_dma_unmap_page(dev, addr, size, direction);
}

struct ib_srq *rust_helper_ib_create_srq(struct ib_pd *pd, struct ib_srq_init_attr *attr)
{
	return ib_create_srq(pd, attr);
}

void rust_helper_ib_destroy_srq(struct ib_srq *srq)
{
	ib_destroy_srq(srq);
}

int rust_helper_ib_post_srq_recv(struct ib_srq *srq, const struct ib_recv_wr *wr,
				 const struct ib_recv_wr **bad_wr)
{
	return ib_post_srq_recv(srq, wr, bad_wr);
}

unsigned int rust_helper_skb_nr_frags(const struct sk_buff *skb)
{
	return skb_shinfo(skb)->nr_frags;
}

/* The segment size of a TCP large send (TSO), 0 for any other skb. */
unsigned int rust_helper_skb_tso_size(const struct sk_buff *skb)
{
	if (!skb_is_gso(skb) || !(skb_shinfo(skb)->gso_type & (SKB_GSO_TCPV4 | SKB_GSO_TCPV6)))
		return 0;
	return skb_shinfo(skb)->gso_size;
}

/* The bytes from data to the end of the TCP header, of a TSO skb only. */
unsigned int rust_helper_skb_tcp_all_headers(const struct sk_buff *skb)
{
	return skb_tcp_all_headers(skb);
}

void rust_helper_skb_add_rx_frag(struct sk_buff *skb, int i, struct page *page, int off,
				 int size, unsigned int truesize)
{
	skb_add_rx_frag(skb, i, page, off, size, truesize);
}

void rust_helper_ib_event_handler_init(struct ib_event_handler *handler,
				       struct ib_device *device,
				       void (*cb)(struct ib_event_handler *, struct ib_event *))
{
	INIT_IB_EVENT_HANDLER(handler, device, cb);
}

/* Network devices */

void *rust_helper_netdev_priv(const struct net_device *dev)
{
	return netdev_priv(dev);
}

void rust_helper_netif_start_queue(struct net_device *dev)
{
	netif_start_queue(dev);
}

void rust_helper_netif_stop_queue(struct net_device *dev)
{
	netif_stop_queue(dev);
}

void rust_helper_netif_wake_queue(struct net_device *dev)
{
	netif_wake_queue(dev);
}

bool rust_helper_netif_queue_stopped(const struct net_device *dev)
{
	return netif_queue_stopped(dev);
}

bool rust_helper_netif_carrier_ok(const struct net_device *dev)
{
	return netif_carrier_ok(dev);
}

bool rust_helper_netif_running(const struct net_device *dev)
{
	return netif_running(dev);
}

bool rust_helper_netif_oper_up(const struct net_device *dev)
{
	return netif_oper_up(dev);
}

void rust_helper_netif_tx_disable(struct net_device *dev)
{
	netif_tx_disable(dev);
}

void rust_helper_dev_put(struct net_device *dev)
{
	dev_put(dev);
}

void rust_helper_set_netdev_dev(struct net_device *net, struct device *pdev)
{
	SET_NETDEV_DEV(net, pdev);
}

/*
 * Copies the device's multicast list (addr_len bytes each) into buf, up to
 * max entries; returns the number of entries the list has, which may be more
 * than were copied. The caller holds the address lock (ndo_set_rx_mode does)
 * unless take_lock is set.
 */
/* The multicast list, walked under the address lock (the caller's). */
struct netdev_hw_addr *rust_helper_netdev_mc_first(struct net_device *dev)
{
	return list_first_entry_or_null(&dev->mc.list, struct netdev_hw_addr, list);
}

struct netdev_hw_addr *rust_helper_netdev_mc_next(struct net_device *dev,
						   struct netdev_hw_addr *ha)
{
	return list_is_last(&ha->list, &dev->mc.list) ? NULL : list_next_entry(ha, list);
}

bool rust_helper_napi_schedule(struct napi_struct *n)
{
	return napi_schedule(n);
}

void rust_helper_netif_napi_del(struct napi_struct *napi)
{
	netif_napi_del(napi);
}

/* Socket buffers */

struct sk_buff *rust_helper_netdev_alloc_skb(struct net_device *dev, unsigned int length)
{
	return netdev_alloc_skb(dev, length);
}

void rust_helper_dev_kfree_skb_any(struct sk_buff *skb)
{
	dev_kfree_skb_any(skb);
}

void rust_helper_skb_reserve(struct sk_buff *skb, int len)
{
	skb_reserve(skb, len);
}

int rust_helper_skb_linearize(struct sk_buff *skb)
{
	return skb_linearize(skb);
}

void rust_helper_skb_orphan(struct sk_buff *skb)
{
	skb_orphan(skb);
}

void rust_helper_skb_dst_drop(struct sk_buff *skb)
{
	skb_dst_drop(skb);
}

bool rust_helper_ib_device_try_get(struct ib_device *dev)
{
	return ib_device_try_get(dev);
}

void rust_helper_dev_hold(struct net_device *dev)
{
	dev_hold(dev);
}

struct device *rust_helper_ib_device_parent(struct ib_device *dev)
{
	return dev->dev.parent;
}

int rust_helper_dev_queue_xmit(struct sk_buff *skb)
{
	return dev_queue_xmit(skb);
}

struct net_device *rust_helper_netdev_notifier_info_to_dev(const void *info)
{
	return netdev_notifier_info_to_dev(info);
}

/* sysfs and netlink */

struct net_device *rust_helper_to_net_dev(struct device *dev)
{
	return to_net_dev(dev);
}

struct device *rust_helper_kobj_to_dev(struct kobject *kobj)
{
	return kobj_to_dev(kobj);
}

u16 rust_helper_nla_get_u16(const struct nlattr *nla)
{
	return nla_get_u16(nla);
}

u32 rust_helper_nla_get_u32(const struct nlattr *nla)
{
	return nla_get_u32(nla);
}

int rust_helper_nla_put_u16(struct sk_buff *skb, int attrtype, u16 value)
{
	return nla_put_u16(skb, attrtype, value);
}

int rust_helper_restart_syscall(void)
{
	return restart_syscall();
}

/* Walking the devices of the initial namespace (RTNL held). */

struct net_device *rust_helper_first_init_net_device(void)
{
	return first_net_device(&init_net);
}

struct net_device *rust_helper_next_net_device(struct net_device *dev)
{
	return next_net_device(dev);
}

unsigned long rust_helper_jiffies_now(void)
{
	return READ_ONCE(jiffies);
}

/* Delayed work items on the system workqueue. */

void rust_helper_init_delayed_work(struct delayed_work *dwork, work_func_t func)
{
	INIT_DELAYED_WORK(dwork, func);
}

bool rust_helper_queue_delayed_work(struct delayed_work *dwork, unsigned long delay)
{
	return queue_delayed_work(system_wq, dwork, delay);
}

bool rust_helper_cancel_delayed_work_wait(struct delayed_work *dwork)
{
	return cancel_delayed_work_sync(dwork);
}

unsigned long rust_helper_msecs_to_jiffies(unsigned int ms)
{
	return msecs_to_jiffies(ms);
}

unsigned long rust_helper_secs_to_jiffies(unsigned int secs)
{
	return secs_to_jiffies((unsigned long)secs);
}

/* Keeping the route of packets handed to the driver (the ICMP errors below need it). */

void rust_helper_netif_keep_dst(struct net_device *dev)
{
	netif_keep_dst(dev);
}

/*
 * Tells the sender of a packet too big for the path: ICMP "fragmentation needed" or
 * ICMPv6 "packet too big" carrying mtu, after lowering the route's PMTU (from
 * ndo_start_xmit or process context; other protocols get nothing).
 */
void rust_helper_skb_send_too_big(struct sk_buff *skb, unsigned int mtu)
{
	skb_dst_update_pmtu(skb, mtu);
	if (skb->protocol == htons(ETH_P_IP)) {
		memset(IPCB(skb), 0, sizeof(*IPCB(skb)));
		icmp_ndo_send(skb, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, htonl(mtu));
	} else if (skb->protocol == htons(ETH_P_IPV6)) {
		memset(IP6CB(skb), 0, sizeof(*IP6CB(skb)));
		icmpv6_ndo_send(skb, ICMPV6_PKT_TOOBIG, 0, mtu);
	}
}

/* PCI, auxiliary devices, notifier chains and DMA for the software ConnectX-3. */

resource_size_t rust_helper_pci_bar_start(struct pci_dev *pdev, int bar)
{
	return pci_resource_start(pdev, bar);
}

resource_size_t rust_helper_pci_bar_len(struct pci_dev *pdev, int bar)
{
	return pci_resource_len(pdev, bar);
}

void *rust_helper_pci_get_drvdata_ptr(struct pci_dev *pdev)
{
	return pci_get_drvdata(pdev);
}

void rust_helper_pci_set_drvdata_ptr(struct pci_dev *pdev, void *data)
{
	pci_set_drvdata(pdev, data);
}

void rust_helper_radix_tree_init_atomic(struct radix_tree_root *root)
{
	INIT_RADIX_TREE(root, GFP_ATOMIC);
}

void rust_helper_atomic_notifier_head_init(struct atomic_notifier_head *nh)
{
	ATOMIC_INIT_NOTIFIER_HEAD(nh);
}

void rust_helper_completion_init(struct completion *c)
{
	init_completion(c);
}

void rust_helper_auxiliary_device_put(struct auxiliary_device *adev)
{
	auxiliary_device_uninit(adev);
}

void rust_helper_auxiliary_device_del(struct auxiliary_device *adev)
{
	auxiliary_device_delete(adev);
}

/* The kernel address of DMA memory on a device without an IOMMU (direct mapping). */
void *rust_helper_dma_addr_to_virt(struct device *dev, dma_addr_t addr)
{
	return phys_to_virt(dma_to_phys(dev, addr));
}

/* Whether DMA address `addr` of `dev` is in a page of RAM the kernel manages. */
bool rust_helper_dma_addr_is_ram(struct device *dev, dma_addr_t addr)
{
	return pfn_valid(PHYS_PFN(dma_to_phys(dev, addr)));
}

void *rust_helper_kzalloc_zeroed(size_t size)
{
	return kzalloc(size, GFP_KERNEL);
}

/* A devlink instance without operations or private data (the model's HCA). */
struct devlink *rust_helper_devlink_alloc_plain(struct device *dev)
{
	static const struct devlink_ops ops = {};

	return devlink_alloc(&ops, 0, dev);
}

void rust_helper_refcount_set_to(refcount_t *r, int n)
{
	refcount_set(r, n);
}

bool rust_helper_refcount_dec_test(refcount_t *r)
{
	return refcount_dec_and_test(r);
}

unsigned long rust_helper_spin_lock_irqsave_flags(spinlock_t *lock)
{
	unsigned long flags;

	spin_lock_irqsave(lock, flags);
	return flags;
}

void rust_helper_spin_unlock_irqrestore_flags(spinlock_t *lock, unsigned long flags)
{
	spin_unlock_irqrestore(lock, flags);
}

void rust_helper_refcount_get(refcount_t *r)
{
	refcount_inc(r);
}

void rust_helper_bh_disable(void)
{
	local_bh_disable();
}

void rust_helper_bh_enable(void)
{
	local_bh_enable();
}

void rust_helper_init_irq_work(struct irq_work *work, void (*func)(struct irq_work *))
{
	init_irq_work(work, func);
}

/* Barriers and doorbells for mlx4 queues (rust-bindings/barrier.rs, mlx4/uar.rs). */

void rust_helper_wmb(void)
{
	wmb();
}

void rust_helper_rmb(void)
{
	rmb();
}

void rust_helper_dma_wmb(void)
{
	dma_wmb();
}

void rust_helper_dma_rmb(void)
{
	dma_rmb();
}

void rust_helper_writel_relaxed(u32 val, void __iomem *addr)
{
	writel_relaxed(val, addr);
}

#if BITS_PER_LONG == 64
/* mlx4_write64 without a lock: one 64-bit store (doorbell.h). */
void rust_helper_mlx4_write64(const __be32 *val, void __iomem *dest)
{
	mlx4_write64((__be32 *)val, dest, MLX4_GET_DOORBELL_LOCK(NULL));
}
#else
static DEFINE_SPINLOCK(rust_mlx4_doorbell_lock);

/* Two 32-bit stores under a lock, so that the two halves of doorbells stay paired. */
void rust_helper_mlx4_write64(const __be32 *val, void __iomem *dest)
{
	mlx4_write64((__be32 *)val, dest, &rust_mlx4_doorbell_lock);
}
#endif

/* The driver data of a user verb's attribute bundle. */
struct ib_udata *rust_helper_bundle_udata(struct uverbs_attr_bundle *attrs)
{
	return &attrs->driver_udata;
}

/* The user context of the verb whose driver data `udata` is (`rdma_udata_to_drv_context`). */
struct ib_ucontext *rust_helper_udata_ucontext(struct ib_udata *udata)
{
	return container_of(udata, struct uverbs_attr_bundle, driver_udata)->context;
}

/* Maps one page of I/O memory at `pfn` into `vma`, uncached or write-combining. */
int rust_helper_user_mmap_io_page(struct ib_ucontext *ctx, struct vm_area_struct *vma,
				  unsigned long pfn, bool wc)
{
	pgprot_t prot = wc ? pgprot_writecombine(vma->vm_page_prot) :
			     pgprot_noncached(vma->vm_page_prot);

	return rdma_user_mmap_io(ctx, vma, pfn, PAGE_SIZE, prot, NULL);
}

unsigned long rust_helper_vma_pgoff(const struct vm_area_struct *vma)
{
	return vma->vm_pgoff;
}

/* The first of the DMA-mapped segments of `umem`, and how many there are. */
struct scatterlist *rust_helper_umem_dma_sgl(struct ib_umem *umem, unsigned int *nents)
{
	*nents = umem->sgt_append.sgt.nents;
	return umem->sgt_append.sgt.sgl;
}

/* The DMA address and length of segment `sg`; returns the next segment. */
struct scatterlist *rust_helper_sg_dma_seg(struct scatterlist *sg, u64 *addr, u64 *len)
{
	*addr = sg_dma_address(sg);
	*len = sg_dma_len(sg);
	return sg_next(sg);
}

/*
 * Whether `start..start + length` of the caller's address space lies in one mapping that
 * is writable (`*one_vma` says whether one mapping covers it), as mlx4_get_umem_mr asks.
 */
bool rust_helper_user_range_writable(u64 start, u64 length, bool *one_vma)
{
	unsigned long s = untagged_addr(start);
	struct vm_area_struct *vma;
	bool w = false;

	*one_vma = false;
	mmap_read_lock(current->mm);
	vma = find_vma(current->mm, s);
	if (vma && vma->vm_end >= s + length && vma->vm_start <= s) {
		*one_vma = true;
		w = !!(vma->vm_flags & VM_WRITE);
	}
	mmap_read_unlock(current->mm);
	return w;
}

/* The page frame of the HCA's free-running clock (mlx4_ib's mmap at offset 3). */
int rust_helper_mlx4_clock_pfn(struct mlx4_dev *dev, unsigned long *pfn)
{
	struct mlx4_clock_params params;
	int err = mlx4_get_internal_clock_params(dev, &params);

	if (err)
		return err;
	*pfn = (pci_resource_start(dev->persist->pdev, params.bar) + params.offset) >> PAGE_SHIFT;
	return 0;
}

/* The offset of the HCA's clock counter in its page (the extended query_device response). */
int rust_helper_mlx4_clock_offset(struct mlx4_dev *dev, u32 *offset)
{
	struct mlx4_clock_params params;
	int err = mlx4_get_internal_clock_params(dev, &params);

	if (err)
		return err;
	*offset = params.offset % PAGE_SIZE;
	return 0;
}
