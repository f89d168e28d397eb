"""Python `atproto` driver of benches/repo-compare: CAR file -> every record decoded.

    python bench_read.py FILE.car     # prints the record count

What the package does and does not do here:
- `atproto.CAR.from_bytes` (libipld's Rust `decode_car` underneath) splits the CAR and
  decodes every block, MST nodes and records alike, to Python dicts/lists/str/bytes/int
  (strict DAG-CBOR; a CID link comes back as its raw bytes, like a byte string).
- It does NOT check any block against its CID (a block whose bytes were changed still
  decodes), so this driver hashes every block itself (SHA-256 from hashlib, compared with
  the CID's digest) in a separate pass over the CAR framing, to do the same work as the
  other drivers.
- The package has no MST reader, so this driver walks the tree itself from the decoded
  nodes (left subtree, then each entry's key prefix-compressed against the previous one,
  then its right subtree) and looks every record up by its CID in the decoded blocks.
- No commit signature check (like the atmo, atrium, jacquard and rsky drivers).
"""

import hashlib
import sys

# The same classes as `from atproto import CAR, CID`, imported from the package's core module:
# the top-level `atproto` import also loads every generated client model (about 1 s of CPU
# here), which is no part of reading a repository.
from atproto_core.car import CAR
from atproto_core.cid import CID

SHA2_256 = 0x12


def read_varint(buf: memoryview, pos: int) -> 'tuple[int, int]':
    """Unsigned LEB128 at `pos`: (value, position after it)."""
    value = 0
    shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError(f'truncated or overlong varint at byte {pos}')
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def check_block_hashes(data: bytes) -> int:
    """Check every block of the CAR against its CID's SHA-256 digest; return the block count."""
    buf = memoryview(data)
    header_len, pos = read_varint(buf, 0)
    pos += header_len
    blocks = 0
    while pos < len(buf):
        section_len, pos = read_varint(buf, pos)
        end = pos + section_len
        if end > len(buf):
            raise ValueError(f'block section at byte {pos} runs past the end of the file')
        version, p = read_varint(buf, pos)
        _codec, p = read_varint(buf, p)
        code, p = read_varint(buf, p)
        size, p = read_varint(buf, p)
        if version != 1 or code != SHA2_256 or size != 32:
            raise ValueError(f'block at byte {pos}: not a CIDv1 with a SHA-256 multihash')
        digest = buf[p : p + size]
        p += size
        if hashlib.sha256(buf[p:end]).digest() != digest:
            raise ValueError(f'block at byte {pos}: bytes do not hash to its CID')
        blocks += 1
        pos = end
    return blocks


def walk(blocks: 'dict[CID, dict]', node_link: bytes, out: list) -> None:
    """Append (key, record) for every leaf under the MST node `node_link`, in key order."""
    node = blocks.get(CID.from_decoded_bytes(node_link))
    if not isinstance(node, dict):
        raise ValueError('MST node missing or not a map')
    left = node.get('l')
    if left is not None:
        walk(blocks, left, out)
    key = b''
    for entry in node['e']:
        key = key[: entry['p']] + entry['k']
        record = blocks.get(CID.from_decoded_bytes(entry['v']))
        if not isinstance(record, dict):
            raise ValueError(f'record {key!r}: block missing or not a map')
        out.append((key, record))
        right = entry.get('t')
        if right is not None:
            walk(blocks, right, out)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit('usage: bench_read.py FILE.car')
    with open(sys.argv[1], 'rb') as f:
        data = f.read()
    check_block_hashes(data)
    car = CAR.from_bytes(data)
    del data
    commit = car.blocks.get(car.root)
    if not isinstance(commit, dict):
        raise ValueError('commit block missing or not a map')
    records: list = []
    walk(car.blocks, commit['data'], records)
    print(len(records))


if __name__ == '__main__':
    main()
