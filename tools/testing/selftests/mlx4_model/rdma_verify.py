#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""RC data transfers between mlx4_0 and mlx4_1 through libmlx4, with the data checked.

SEND, RDMA WRITE (with and without immediate), RDMA READ, fetch-and-add and
compare-and-swap, each checked byte for byte; then a WRITE with a wrong rkey,
which must complete with a remote access error. Prints "# ok ..." or
"# FAIL ..." lines and exits 1 on any failure.
"""
import os
import sys
import time

import pyverbs.enums as e
from pyverbs.addr import AHAttr
from pyverbs.cq import CQ
from pyverbs.device import Context
from pyverbs.mr import MR
from pyverbs.pd import PD
from pyverbs.qp import QP, QPAttr, QPCap, QPInitAttr
from pyverbs.wr import SGE, RecvWR, SendWR

SIZE = 1 << 20
ACCESS = (e.IBV_ACCESS_LOCAL_WRITE | e.IBV_ACCESS_REMOTE_WRITE |
          e.IBV_ACCESS_REMOTE_READ | e.IBV_ACCESS_REMOTE_ATOMIC)
failed = False


def check(desc, ok, detail=""):
    global failed
    print(f"# {'ok' if ok else 'FAIL'} {desc}{'' if ok else ': ' + str(detail)}")
    failed |= not ok


def connect_rc(qp, peer_qpn, peer_lid, access, pkey_index=0, sq_psn=0, rq_psn=0,
               mtu=e.IBV_MTU_4096, timeout=14, retry_cnt=7):
    """Takes RC `qp` through INIT, RTR and RTS to `peer_qpn` at `peer_lid` on port 1."""
    a = QPAttr(port_num=1)
    a.pkey_index = pkey_index
    a.qp_access_flags = access
    qp.to_init(a)
    a = QPAttr(port_num=1)
    a.dest_qp_num = peer_qpn
    a.path_mtu = mtu
    a.max_dest_rd_atomic = 4
    a.min_rnr_timer = 12
    a.rq_psn = rq_psn
    a.ah_attr = AHAttr(dlid=peer_lid, port_num=1)
    qp.to_rtr(a)
    a.timeout = timeout
    a.retry_cnt = retry_cnt
    a.rnr_retry = 7
    a.sq_psn = sq_psn
    a.max_rd_atomic = 4
    qp.to_rts(a)


class End:
    def __init__(self, name):
        self.ctx = Context(name=name)
        self.lid = self.ctx.query_port(1).lid
        self.pd = PD(self.ctx)
        self.cq = CQ(self.ctx, 64)
        cap = QPCap(max_send_wr=16, max_recv_wr=16, max_send_sge=1, max_recv_sge=1)
        self.qp = QP(self.pd, QPInitAttr(qp_type=e.IBV_QPT_RC, scq=self.cq,
                                         rcq=self.cq, cap=cap))
        self.mr = MR(self.pd, SIZE, ACCESS)
        self.mr2 = MR(self.pd, SIZE, ACCESS)

    def connect(self, peer):
        connect_rc(self.qp, peer.qp.qp_num, peer.lid, ACCESS)

    def wait(self, what):
        deadline = time.time() + 10
        while time.time() < deadline:
            n, wcs = self.cq.poll()
            if n:
                return wcs[0]
            time.sleep(0.001)
        raise TimeoutError(f"no completion for {what}")


def send_wr(opcode, mr, length, offset=0):
    return SendWR(opcode=opcode, num_sge=1, sg=[SGE(mr.buf + offset, length, mr.lkey)])


def main():
    names = sys.argv[1:3] if len(sys.argv) > 2 else ["mlx4_0", "mlx4_1"]
    a, b = End(names[0]), End(names[1])
    a.connect(b)
    b.connect(a)

    # SEND of 64 KiB.
    data = os.urandom(65536)
    a.mr.write(data, len(data))
    b.qp.post_recv(RecvWR(num_sge=1, sg=[SGE(b.mr.buf, SIZE, b.mr.lkey)]))
    a.qp.post_send(send_wr(e.IBV_WR_SEND, a.mr, len(data)))
    wa, wb = a.wait("send"), b.wait("recv")
    check("SEND completes on both sides", wa.status == 0 and wb.status == 0,
          f"status {wa.status}/{wb.status}")
    check("SEND byte_len", wb.byte_len == len(data), str(wb.byte_len))
    check("SEND data", b.mr.read(len(data), 0) == data)

    # RDMA WRITE of 1 MiB into mlx4_1's memory.
    data = os.urandom(SIZE)
    a.mr.write(data, SIZE)
    wr = send_wr(e.IBV_WR_RDMA_WRITE, a.mr, SIZE)
    wr.set_wr_rdma(b.mr2.rkey, b.mr2.buf)
    a.qp.post_send(wr)
    wa = a.wait("write")
    check("RDMA WRITE 1 MiB", wa.status == 0, f"status {wa.status}")
    check("RDMA WRITE data", b.mr2.read(SIZE, 0) == data)

    # RDMA READ it back into mlx4_0's second region.
    wr = send_wr(e.IBV_WR_RDMA_READ, a.mr2, SIZE)
    wr.set_wr_rdma(b.mr2.rkey, b.mr2.buf)
    a.qp.post_send(wr)
    wa = a.wait("read")
    check("RDMA READ 1 MiB", wa.status == 0, f"status {wa.status}")
    check("RDMA READ data", a.mr2.read(SIZE, 0) == data)

    # RDMA WRITE with immediate: data plus a receive completion carrying the value.
    data = os.urandom(4000)
    a.mr.write(data, len(data))
    b.qp.post_recv(RecvWR(num_sge=1, sg=[SGE(b.mr.buf, SIZE, b.mr.lkey)]))
    wr = SendWR(opcode=e.IBV_WR_RDMA_WRITE_WITH_IMM, num_sge=1,
                sg=[SGE(a.mr.buf, len(data), a.mr.lkey)], imm_data=0x12345678)
    wr.set_wr_rdma(b.mr2.rkey, b.mr2.buf + 8192)
    a.qp.post_send(wr)
    wa, wb = a.wait("write imm"), b.wait("write imm recv")
    check("WRITE_WITH_IMM completes", wa.status == 0 and wb.status == 0)
    check("WRITE_WITH_IMM opcode and immediate",
          wb.opcode == e.IBV_WC_RECV_RDMA_WITH_IMM and wb.imm_data == 0x12345678,
          f"opcode {wb.opcode} imm {wb.imm_data:#x}")
    check("WRITE_WITH_IMM data", b.mr2.read(len(data), 8192) == data)

    # Atomics on an 8-byte word of mlx4_1 (host byte order, see mlx4_model.rst).
    b.mr2.write((5).to_bytes(8, "little"), 8, 0)
    wr = send_wr(e.IBV_WR_ATOMIC_FETCH_AND_ADD, a.mr, 8)
    wr.set_wr_atomic(b.mr2.rkey, b.mr2.buf, 7, 0)
    a.qp.post_send(wr)
    wa = a.wait("fetch-add")
    old = int.from_bytes(a.mr.read(8, 0), "little")
    new = int.from_bytes(b.mr2.read(8, 0), "little")
    check("fetch-and-add returns 5, leaves 12", wa.status == 0 and old == 5 and new == 12,
          f"status {wa.status} old {old} new {new}")
    # The word holds 12: a matching compare swaps 99 in, then a compare of 12 against 99
    # must leave the word alone (swap value 77), and both return the word's old value.
    for compare, swap, returned, left in ((12, 99, 12, 99), (12, 77, 99, 99)):
        a.mr.write(bytes(8), 8)
        wr = send_wr(e.IBV_WR_ATOMIC_CMP_AND_SWP, a.mr, 8)
        wr.set_wr_atomic(b.mr2.rkey, b.mr2.buf, compare, swap)
        a.qp.post_send(wr)
        wa = a.wait("cmp-swap")
        old = int.from_bytes(a.mr.read(8, 0), "little")
        new = int.from_bytes(b.mr2.read(8, 0), "little")
        check(f"compare-and-swap (compare {compare}, swap {swap}): returns {returned}, "
              f"leaves {left}", wa.status == 0 and old == returned and new == left,
              f"status {wa.status} returned {old} left {new}")

    # A wrong rkey: remote access error, and the QP goes to the error state.
    wr = send_wr(e.IBV_WR_RDMA_WRITE, a.mr, 64)
    wr.set_wr_rdma(b.mr2.rkey ^ 0xff0000, b.mr2.buf)
    a.qp.post_send(wr)
    wa = a.wait("bad rkey")
    check("WRITE with a wrong rkey: remote access error",
          wa.status == e.IBV_WC_REM_ACCESS_ERR, f"status {wa.status}")
    check("requester QP in error", a.qp.query(e.IBV_QP_STATE)[0].qp_state == e.IBV_QPS_ERR)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
