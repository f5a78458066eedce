"""Small, independent GGUF v2/v3 reader for Loupe's NumPy reference (tests/ref).

Parses the header, metadata and tensor infos with struct, maps the file read-only
with numpy.memmap and dequantizes F32/F16/BF16/Q8_0/Q4_0/Q4_1/Q5_0/Q5_1/Q4_K/Q5_K/
Q6_K/Q8_K to float32. Written from the GGUF spec and ggml's block layouts, not
from Loupe's C code. Tensors come back as NumPy arrays shaped (ne[n-1], ..., ne[0]).
"""
import struct
import sys

import numpy as np

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# ---------------------------------------------------------------- value types

VT_UINT8, VT_INT8, VT_UINT16, VT_INT16, VT_UINT32, VT_INT32, VT_FLOAT32, VT_BOOL = range(8)
VT_STRING, VT_ARRAY, VT_UINT64, VT_INT64, VT_FLOAT64 = 8, 9, 10, 11, 12

# scalar value types: struct format (little-endian) and numpy dtype for arrays
SCALAR_FMT = {
    VT_UINT8: ("<B", "<u1"), VT_INT8: ("<b", "<i1"), VT_UINT16: ("<H", "<u2"),
    VT_INT16: ("<h", "<i2"), VT_UINT32: ("<I", "<u4"), VT_INT32: ("<i", "<i4"),
    VT_FLOAT32: ("<f", "<f4"), VT_BOOL: ("<B", "<u1"), VT_UINT64: ("<Q", "<u8"),
    VT_INT64: ("<q", "<i8"), VT_FLOAT64: ("<d", "<f8"),
}

# ---------------------------------------------------------------- tensor types

# ggml type id -> (name, values per block, bytes per block)
GGML_TYPES = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292),
    30: ("BF16", 1, 2),
}
TYPE_ID = {v[0]: k for k, v in GGML_TYPES.items()}


class GGUFError(Exception):
    pass


class TensorInfo:
    """One tensor: name, ne (ggml order, ne[0] = innermost/input dim), type, offsets."""

    def __init__(self, name, ne, type_id, offset):
        self.name = name
        self.ne = list(ne)
        self.type_id = type_id
        self.type_name, self.block, self.block_bytes = GGML_TYPES[type_id]
        self.offset = offset            # relative to the data section
        self.n_elements = 1
        for d in self.ne:
            self.n_elements *= int(d)
        self.n_bytes = self.n_elements // self.block * self.block_bytes
        self.abs_offset = None          # absolute file offset, set by the reader

    @property
    def shape(self):
        """NumPy shape, outermost first: (out, in) for a ggml [in, out] matrix."""
        return tuple(reversed(self.ne))

    def __repr__(self):
        return "TensorInfo(%s, ne=%s, %s)" % (self.name, self.ne, self.type_name)


# ---------------------------------------------------------------- header parsing

class _Cursor:
    """Bounds-checked little-endian reads from a bytes-like buffer."""

    def __init__(self, buf):
        self.buf = buf
        self.pos = 0

    def take(self, n):
        if n < 0 or self.pos + n > len(self.buf):
            raise GGUFError("truncated file: need %d bytes at offset %d (size %d)"
                            % (n, self.pos, len(self.buf)))
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt):
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, self.take(size))[0]

    def string(self):
        n = self.unpack("<Q")
        # surrogateescape keeps byte tokens that are not valid UTF-8 round-trippable
        return bytes(self.take(n)).decode("utf-8", errors="surrogateescape")


def _read_value(cur, vtype, depth=0):
    if vtype in SCALAR_FMT:
        v = cur.unpack(SCALAR_FMT[vtype][0])
        return bool(v) if vtype == VT_BOOL else v
    if vtype == VT_STRING:
        return cur.string()
    if vtype == VT_ARRAY:
        if depth > 8:
            raise GGUFError("metadata arrays nested too deep")
        etype = cur.unpack("<I")
        count = cur.unpack("<Q")
        if etype in SCALAR_FMT:
            # numeric arrays in one go (tokenizer scores etc. have 262144 entries)
            dt = np.dtype(SCALAR_FMT[etype][1])
            raw = cur.take(count * dt.itemsize)
            arr = np.frombuffer(raw, dtype=dt)
            return [bool(x) for x in arr] if etype == VT_BOOL else arr.tolist()
        if etype not in (VT_STRING, VT_ARRAY):
            raise GGUFError("unknown array element type %d" % etype)
        if count > len(cur.buf):   # every element takes at least one byte
            raise GGUFError("array count %d larger than the file" % count)
        return [_read_value(cur, etype, depth + 1) for _ in range(count)]
    raise GGUFError("unknown metadata value type %d" % vtype)


class GGUFReader:
    """reader = GGUFReader(path); reader.metadata[key]; reader.tensor(name) -> float32 array."""

    def __init__(self, path):
        self.path = path
        self.mm = np.memmap(path, dtype=np.uint8, mode="r")
        buf = memoryview(self.mm)
        cur = _Cursor(buf)
        if bytes(cur.take(4)) != GGUF_MAGIC:
            raise GGUFError("%s: not a GGUF file (bad magic)" % path)
        self.version = cur.unpack("<I")
        if self.version not in (2, 3):
            raise GGUFError("%s: unsupported GGUF version %d" % (path, self.version))
        n_tensors = cur.unpack("<Q")
        n_kv = cur.unpack("<Q")
        if n_tensors > len(buf) or n_kv > len(buf):
            raise GGUFError("implausible tensor/kv counts %d/%d" % (n_tensors, n_kv))

        self.metadata = {}
        self.metadata_types = {}
        for _ in range(n_kv):
            key = cur.string()
            vtype = cur.unpack("<I")
            if key in self.metadata:
                raise GGUFError("duplicate metadata key %r" % key)
            self.metadata[key] = _read_value(cur, vtype)
            self.metadata_types[key] = vtype

        self.tensors = {}
        order = []
        for _ in range(n_tensors):
            name = cur.string()
            n_dims = cur.unpack("<I")
            if not 1 <= n_dims <= 4:
                raise GGUFError("tensor %r: n_dims %d out of range" % (name, n_dims))
            ne = [cur.unpack("<Q") for _ in range(n_dims)]
            type_id = cur.unpack("<I")
            offset = cur.unpack("<Q")
            if type_id not in GGML_TYPES:
                raise GGUFError("tensor %r: unsupported ggml type %d" % (name, type_id))
            if any(d == 0 or d >= 1 << 62 for d in ne):
                raise GGUFError("tensor %r: bad dims %s" % (name, ne))
            n = 1
            for d in ne:                       # Python ints: no overflow
                n *= d
            if n >= 1 << 62:
                raise GGUFError("tensor %r: too many elements" % name)
            block = GGML_TYPES[type_id][1]
            if ne[0] % block:
                raise GGUFError("tensor %r: row of %d is not a whole number of %s blocks"
                                % (name, ne[0], GGML_TYPES[type_id][0]))
            if name in self.tensors:
                raise GGUFError("duplicate tensor %r" % name)
            info = TensorInfo(name, ne, type_id, offset)
            self.tensors[name] = info
            order.append(info)

        self.alignment = self.metadata.get("general.alignment", DEFAULT_ALIGNMENT)
        if not isinstance(self.alignment, int) or self.alignment <= 0 or \
                self.alignment & (self.alignment - 1):
            raise GGUFError("general.alignment %r is not a power of two" % (self.alignment,))
        self.data_offset = (cur.pos + self.alignment - 1) // self.alignment * self.alignment
        if self.data_offset > len(buf):
            raise GGUFError("data section starts past the end of the file")

        spans = []
        for info in order:
            if info.offset % self.alignment:
                raise GGUFError("tensor %r: offset %d not aligned" % (info.name, info.offset))
            info.abs_offset = self.data_offset + info.offset
            if info.abs_offset + info.n_bytes > len(buf):
                raise GGUFError("tensor %r: data [%d, %d) leaves the file (size %d)"
                                % (info.name, info.abs_offset, info.abs_offset + info.n_bytes,
                                   len(buf)))
            spans.append((info.offset, info.offset + info.n_bytes, info.name))
        spans.sort()
        for a, b in zip(spans, spans[1:]):
            if b[0] < a[1]:
                raise GGUFError("tensors %r and %r overlap" % (a[2], b[2]))

    # ------------------------------------------------------------ data access

    def raw(self, name):
        """The tensor's bytes as a uint8 view into the memory map."""
        info = self.tensors[name]
        return self.mm[info.abs_offset:info.abs_offset + info.n_bytes]

    def tensor(self, name):
        """Dequantized float32 array of shape info.shape (row-major, ne[0] fastest)."""
        info = self.tensors[name]
        return dequantize(self.raw(name), info.type_id, info.n_elements).reshape(info.shape)

    def rows(self, name, r0, r1):
        """Rows r0..r1-1 of a 2-D tensor (ne = [in, out]) as float32 (r1 - r0, in)."""
        info = self.tensors[name]
        if len(info.ne) != 2:
            raise GGUFError("%s is not 2-D" % name)
        n_in = info.ne[0]
        row_bytes = n_in // info.block * info.block_bytes
        if not 0 <= r0 <= r1 <= info.ne[1]:
            raise GGUFError("%s: rows [%d, %d) out of range" % (name, r0, r1))
        raw = self.mm[info.abs_offset + r0 * row_bytes:info.abs_offset + r1 * row_bytes]
        return dequantize(raw, info.type_id, (r1 - r0) * n_in).reshape(r1 - r0, n_in)

    def type_name(self, name):
        return self.tensors[name].type_name


# ---------------------------------------------------------------- dequantization
# Every function takes the raw bytes of whole blocks (uint8 array) and returns
# float32 values in file order. Arithmetic is done in float32 in the same order as
# ggml's dequantize_row_* so that the values are bit-identical to what a C kernel
# dequantizes (e.g. Q4_K: (d*sc)*q - (dmin*m)).

def _f16(b):
    """uint8 [..., 2] little-endian -> float32 [...]"""
    return np.ascontiguousarray(b).view("<f2")[..., 0].astype(np.float32)


def _blocks(raw, block_bytes):
    raw = np.asarray(raw, dtype=np.uint8)
    if raw.size % block_bytes:
        raise GGUFError("byte count %d is not a multiple of the block size %d"
                        % (raw.size, block_bytes))
    return raw.reshape(-1, block_bytes)


def _as(raw, dtype):
    return np.ascontiguousarray(np.asarray(raw, dtype=np.uint8)).view(dtype)


def deq_f32(raw):
    return _as(raw, "<f4").astype(np.float32)


def deq_f16(raw):
    return _as(raw, "<f2").astype(np.float32)


def deq_bf16(raw):
    """BF16 is the top 16 bits of an IEEE f32."""
    return (_as(raw, "<u2").astype(np.uint32) << 16).view(np.float32)


def deq_q8_0(raw):
    """34 bytes: fp16 d, int8 q[32]; value = d*q."""
    b = _blocks(raw, 34)
    d = _f16(b[:, 0:2])
    q = b[:, 2:34].view(np.int8).astype(np.float32)
    return (q * d[:, None]).reshape(-1)


def _nibbles_32(qs):
    """qs [nb, 16] -> [nb, 32]: byte j low nibble is value j, high nibble value j+16."""
    return np.concatenate([qs & 0x0F, qs >> 4], axis=1)


def deq_q4_0(raw):
    """18 bytes: fp16 d, qs[16]; value = d*(nibble - 8)."""
    b = _blocks(raw, 18)
    d = _f16(b[:, 0:2])
    q = _nibbles_32(b[:, 2:18]).astype(np.int32) - 8
    return (q.astype(np.float32) * d[:, None]).reshape(-1)


def deq_q4_1(raw):
    """20 bytes: fp16 d, fp16 m, qs[16]; value = nibble*d + m."""
    b = _blocks(raw, 20)
    d = _f16(b[:, 0:2])
    m = _f16(b[:, 2:4])
    q = _nibbles_32(b[:, 4:20]).astype(np.float32)
    return (q * d[:, None] + m[:, None]).reshape(-1)


def _q5_high_bits(qh_bytes):
    """qh [nb, 4] (little-endian u32) -> [nb, 32] of 0/16: bit j is the 5th bit of value j."""
    qh = np.ascontiguousarray(qh_bytes).view("<u4")[:, 0]
    bits = (qh[:, None] >> np.arange(32, dtype=np.uint32)[None, :]) & 1
    return (bits << 4).astype(np.int32)


def deq_q5_0(raw):
    """22 bytes: fp16 d, u32 qh, qs[16]; value = d*((nibble | bit<<4) - 16)."""
    b = _blocks(raw, 22)
    d = _f16(b[:, 0:2])
    q = (_nibbles_32(b[:, 6:22]).astype(np.int32) | _q5_high_bits(b[:, 2:6])) - 16
    return (q.astype(np.float32) * d[:, None]).reshape(-1)


def deq_q5_1(raw):
    """24 bytes: fp16 d, fp16 m, u32 qh, qs[16]; value = (nibble | bit<<4)*d + m."""
    b = _blocks(raw, 24)
    d = _f16(b[:, 0:2])
    m = _f16(b[:, 2:4])
    q = _nibbles_32(b[:, 8:24]).astype(np.int32) | _q5_high_bits(b[:, 4:8])
    return (q.astype(np.float32) * d[:, None] + m[:, None]).reshape(-1)


def _k_scale_min(sc12):
    """The 12 packed bytes of Q4_K/Q5_K -> (scale[nb, 8], min[nb, 8]), 6 bits each.

    Sub-block j < 4: scale = s[j] & 63, min = s[j+4] & 63.
    Sub-block j >= 4: scale = (s[j+4] & 15) | (s[j-4] >> 6) << 4,
                      min   = (s[j+4] >> 4) | (s[j]   >> 6) << 4.
    """
    s = sc12.astype(np.int32)
    sc = np.empty((s.shape[0], 8), np.int32)
    mn = np.empty((s.shape[0], 8), np.int32)
    sc[:, 0:4] = s[:, 0:4] & 63
    mn[:, 0:4] = s[:, 4:8] & 63
    sc[:, 4:8] = (s[:, 8:12] & 0x0F) | ((s[:, 0:4] >> 6) << 4)
    mn[:, 4:8] = (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)
    return sc, mn


def _k_nibbles(qs128):
    """qs [nb, 128] -> [nb, 8, 32]: 32-byte group g gives sub-block 2g (low nibbles)
    and sub-block 2g+1 (high nibbles)."""
    g = qs128.reshape(-1, 4, 1, 32)
    return np.concatenate([g & 0x0F, g >> 4], axis=2).reshape(-1, 8, 32).astype(np.int32)


def deq_q4_k(raw):
    """144 bytes: fp16 d, fp16 dmin, scales[12], qs[128]; 8 sub-blocks of 32:
    value = (d*sc_j)*q - (dmin*m_j)."""
    b = _blocks(raw, 144)
    d = _f16(b[:, 0:2])
    dmin = _f16(b[:, 2:4])
    sc, mn = _k_scale_min(b[:, 4:16])
    q = _k_nibbles(b[:, 16:144]).astype(np.float32)
    d1 = (d[:, None] * sc.astype(np.float32))[:, :, None]
    m1 = (dmin[:, None] * mn.astype(np.float32))[:, :, None]
    return (d1 * q - m1).reshape(-1)


def deq_q5_k(raw):
    """176 bytes: fp16 d, fp16 dmin, scales[12], qh[32], qs[128]; value j of sub-block s
    gets 16 added when bit s of qh[j] is set; value = (d*sc)*q - (dmin*m)."""
    b = _blocks(raw, 176)
    d = _f16(b[:, 0:2])
    dmin = _f16(b[:, 2:4])
    sc, mn = _k_scale_min(b[:, 4:16])
    qh = b[:, 16:48].astype(np.int32)                       # [nb, 32]
    hi = (qh[:, None, :] >> np.arange(8)[None, :, None]) & 1  # [nb, 8, 32]
    q = (_k_nibbles(b[:, 48:176]) + 16 * hi).astype(np.float32)
    d1 = (d[:, None] * sc.astype(np.float32))[:, :, None]
    m1 = (dmin[:, None] * mn.astype(np.float32))[:, :, None]
    return (d1 * q - m1).reshape(-1)


def deq_q6_k(raw):
    """210 bytes: ql[128], qh[64], int8 scales[16], fp16 d. Two halves of 128 values;
    in half n, quarter k (32 values each, l = 0..31):
      k=0: ql[64n+l] & 15  | (qh[32n+l] >> 0 & 3) << 4
      k=1: ql[64n+32+l] & 15 | (qh[32n+l] >> 2 & 3) << 4
      k=2: ql[64n+l] >> 4  | (qh[32n+l] >> 4 & 3) << 4
      k=3: ql[64n+32+l] >> 4 | (qh[32n+l] >> 6 & 3) << 4
    value = (d * scales[8n + 2k + l//16]) * (q - 32)."""
    b = _blocks(raw, 210)
    nb = b.shape[0]
    ql = b[:, 0:128].reshape(nb, 2, 64).astype(np.int32)
    qh = b[:, 128:192].reshape(nb, 2, 32).astype(np.int32)
    sc = b[:, 192:208].view(np.int8).reshape(nb, 2, 4, 2).astype(np.float32)
    d = _f16(b[:, 208:210])
    lo_a, lo_b = ql[:, :, 0:32], ql[:, :, 32:64]
    q = np.stack([
        (lo_a & 0x0F) | (((qh >> 0) & 3) << 4),
        (lo_b & 0x0F) | (((qh >> 2) & 3) << 4),
        (lo_a >> 4) | (((qh >> 4) & 3) << 4),
        (lo_b >> 4) | (((qh >> 6) & 3) << 4),
    ], axis=2) - 32                                         # [nb, 2, 4, 32]
    scale = np.repeat(d[:, None, None, None] * sc, 16, axis=3)  # [nb, 2, 4, 32]
    return (scale * q.astype(np.float32)).reshape(-1)


def deq_q8_k(raw):
    """292 bytes: f32 d, int8 q[256], int16 bsums[16] (ignored); value = d*q."""
    b = _blocks(raw, 292)
    d = np.ascontiguousarray(b[:, 0:4]).view("<f4")[:, 0].astype(np.float32)
    q = b[:, 4:260].view(np.int8).astype(np.float32)
    return (q * d[:, None]).reshape(-1)


DEQUANT = {
    "F32": deq_f32, "F16": deq_f16, "BF16": deq_bf16, "Q8_0": deq_q8_0,
    "Q4_0": deq_q4_0, "Q4_1": deq_q4_1, "Q5_0": deq_q5_0, "Q5_1": deq_q5_1,
    "Q4_K": deq_q4_k, "Q5_K": deq_q5_k, "Q6_K": deq_q6_k, "Q8_K": deq_q8_k,
}


def dequantize(raw, type_id, n_elements=None):
    """Raw bytes of a tensor of ggml type `type_id` (int or name) -> float32 vector."""
    name = type_id if isinstance(type_id, str) else GGML_TYPES[type_id][0]
    out = DEQUANT[name](raw)
    if n_elements is not None and out.size != n_elements:
        raise GGUFError("dequantized %d values, expected %d" % (out.size, n_elements))
    return out


# ---------------------------------------------------------------- CLI: dump

def main(argv):
    if len(argv) != 2:
        print("usage: gguf_reader.py FILE.gguf", file=sys.stderr)
        return 2
    r = GGUFReader(argv[1])
    print("GGUF v%d, %d metadata keys, %d tensors, alignment %d, data at %d"
          % (r.version, len(r.metadata), len(r.tensors), r.alignment, r.data_offset))
    for k, v in r.metadata.items():
        if isinstance(v, list) and len(v) > 8:
            v = "[%s, ... (%d)]" % (", ".join(repr(x) for x in v[:8]), len(v))
        print("  %s = %s" % (k, v))
    for info in r.tensors.values():
        print("  %-40s %-5s ne=%s" % (info.name, info.type_name, info.ne))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
