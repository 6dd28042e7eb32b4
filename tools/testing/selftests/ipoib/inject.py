#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Send malformed IPoIB datagrams to a peer's UD QP with libibverbs (pyverbs).

usage: inject.py DEVICE PEER_GID PEER_QPN QKEY COUNT_PER_KIND

Kinds: "short" (0-3 bytes: no room for the 4-byte IPoIB header), "ethertype"
(an EtherType no protocol handles), "ipv4" (an IPv4 header with a bogus total
length and checksum), "arp" (a truncated ARP packet). Prints how many of each
were sent.
"""
import ipaddress
import struct
import sys

from pyverbs.addr import AH, GID, AHAttr, GlobalRoute
from pyverbs.cq import CQ
from pyverbs.device import Context
from pyverbs.enums import (IBV_ACCESS_LOCAL_WRITE, IBV_QPS_INIT, IBV_QPT_UD,
                           IBV_SEND_SIGNALED, IBV_WC_SUCCESS, IBV_WR_SEND)
from pyverbs.mr import MR
from pyverbs.pd import PD
from pyverbs.qp import QP, QPAttr, QPCap, QPInitAttr
from pyverbs.wr import SGE, SendWR


def payloads(n):
    for i in range(n):
        yield "short", bytes(range(i % 4))
    for i in range(n):
        yield "ethertype", struct.pack("!HH", 0x1234 + (i % 16), 0) + bytes(60)
    for i in range(n):
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 0xFFFF, i, 0, 64, 17, 0xBAD,
                         bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]))
        yield "ipv4", struct.pack("!HH", 0x0800, 0) + ip + bytes(8)
    for i in range(n):
        yield "arp", struct.pack("!HH", 0x0806, 0) + bytes([0, 32, 8, 0, 20])


def main():
    dev, gid, qpn, qkey, n = sys.argv[1], sys.argv[2], int(sys.argv[3], 0), \
        int(sys.argv[4], 0), int(sys.argv[5])
    ctx = Context(name=dev)
    pd = PD(ctx)
    cq = CQ(ctx, 64)
    qp = QP(pd, QPInitAttr(qp_type=IBV_QPT_UD, scq=cq, rcq=cq,
                           cap=QPCap(max_send_wr=64, max_recv_wr=1)))
    attr = QPAttr(qp_state=IBV_QPS_INIT)
    attr.qkey = qkey
    attr.port_num = 1
    qp.to_rts(attr)
    full = ipaddress.IPv6Address(gid).exploded
    gr = GlobalRoute(dgid=GID(full), sgid_index=0, hop_limit=1)
    ah = AH(pd, attr=AHAttr(is_global=1, port_num=1, gr=gr))
    mr = MR(pd, 256, IBV_ACCESS_LOCAL_WRITE)
    sent = {}
    for kind, data in payloads(n):
        mr.write(data.ljust(1, b"\0"), max(len(data), 1))
        sge = SGE(mr.buf, len(data), mr.lkey)
        wr = SendWR(opcode=IBV_WR_SEND, num_sge=1, sg=[sge], send_flags=IBV_SEND_SIGNALED)
        wr.set_wr_ud(ah, qpn, qkey)
        qp.post_send(wr)
        while True:
            npolled, wcs = cq.poll(1)
            if npolled:
                break
        if wcs[0].status != IBV_WC_SUCCESS:
            sys.exit(f"send failed: status {wcs[0].status}")
        sent[kind] = sent.get(kind, 0) + 1
    print(" ".join(f"{k}={v}" for k, v in sent.items()))


if __name__ == "__main__":
    main()
