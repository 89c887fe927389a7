#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seeds of the two vhost-user fuzz targets into DIR:

    seeds.py DIR

msg.bin     for fuzz_vhost_msg: QEMU 7.2's start-up sequence with the rings
            set up in guest memory, two chains (direct and indirect) and a
            kick, a session created and closed, GET_CONFIG, GET_VRING_BASE
virtq.bin   for fuzz_vhost_virtq: a 16-entry ring with EVENT_IDX, the same
            two chains, one of them reaching into the second region
virtq-bad.bin  the same ring with a descriptor loop and an indirect table
            holding an indirect descriptor

The layouts are those the targets' DOC comments describe."""
import os
import struct
import sys

NEXT, WRITE, INDIRECT = 1, 2, 4
FE_WRITE, FE_KICK = 0x80000001, 0x80000002


def frame(req, payload=b"", flags=1, nfds=0):
    return struct.pack("<III", req, flags | (nfds << 16), len(payload)) + payload


def desc(addr, length, flags, nxt=0):
    return struct.pack("<QIHH", addr, length, flags, nxt)


def msg_seed():
    u64 = lambda v: struct.pack("<Q", v)
    st = lambda i, n: struct.pack("<II", i, n)
    s = frame(1) + frame(15) + frame(16, u64(0x89)) + frame(17) + frame(3) + frame(1)
    s += frame(13, u64(0), nfds=1) + frame(14, u64(0), nfds=1)
    s += frame(2, u64(1 << 30))
    regions = struct.pack("<II", 2, 0)
    regions += struct.pack("<QQQQ", 0, 0x10000, 0x400000, 0)
    regions += struct.pack("<QQQQ", 0x100000, 0x10000, 0x500000, 0)
    s += frame(5, regions, flags=9, nfds=2)
    s += frame(8, st(0, 16)) + frame(10, st(0, 0))
    s += frame(9, struct.pack("<IIQQQQ", 0, 0, 0x500000, 0x500200, 0x500100, 0))
    s += frame(12, u64(0), nfds=1) + frame(13, u64(0), nfds=1)
    sess = bytearray(632)
    struct.pack_into("<IIII", sess, 8, 3, 16, 0, 0)
    sess[32], sess[33] = 1, 1
    sess[56:72] = bytes(range(16))
    s += frame(26, bytes(sess))
    # guest memory (memfd 1 holds gpa 0x100000): the table, an indirect table, avail
    table = desc(0x101000, 72, NEXT, 1) + desc(0x101100, 16, WRITE) + desc(0x102000, 32, INDIRECT)
    s += frame(FE_WRITE, struct.pack("<II", 1, 0) + table)
    ind = desc(0x101000, 72, NEXT, 1) + desc(0x101200, 17, WRITE)
    s += frame(FE_WRITE, struct.pack("<II", 1, 0x2000) + ind)
    s += frame(FE_WRITE, struct.pack("<II", 1, 0x100) + struct.pack("<HHHH", 0, 2, 0, 2))
    s += frame(FE_KICK)
    s += frame(24, struct.pack("<III", 0, 8, 0) + bytes(8))
    s += frame(27, u64(100))
    s += frame(11, st(0, 0))
    return s


def virtq_seed(bad):
    a = bytearray(0x1000)
    b = bytearray(0x400)
    if bad:
        table = desc(0x800, 8, NEXT, 1) + desc(0x900, 8, NEXT, 0) + desc(0, 0, 0) + \
            desc(0x400, 32, INDIRECT)
        ind = desc(0x800, 8, INDIRECT) + desc(0x900, 8, 0)
    else:
        table = desc(0x800, 72, NEXT, 1) + desc(0x900, 16, NEXT, 2) + \
            desc(0x10000, 17, WRITE) + desc(0x400, 48, INDIRECT)
        ind = desc(0x800, 72, NEXT, 1) + desc(0x900, 32, NEXT, 2) + desc(0xa00, 33, WRITE)
    a[0:len(table)] = table
    a[0x400:0x400 + len(ind)] = ind
    a[0x100:0x108] = struct.pack("<HHHH", 0, 2, 0, 3)   # avail: flags, idx, ring[0..1]
    hdr = struct.pack("<BBHIIIIIH6x", 4, 1, 0, len(a), 0x10000,
                      0x1000000, 0x1000100, 0x1000200, 64)
    return hdr + bytes(a) + bytes(b)


def main():
    out = sys.argv[1]
    for name, data in (("msg.bin", msg_seed()), ("virtq.bin", virtq_seed(False)),
                       ("virtq-bad.bin", virtq_seed(True))):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
