"""Python `atproto` driver of benches/firehose-compare: every frame of DIR/frames.bin decoded
the way the package's firehose client hands messages to a user, plus the checks the package
leaves to its user done here by hand.

    python bench_firehose.py DIR     # prints the number of frames processed and checked

and `loop_ms N` on stderr: the time of the frame loop alone (no start-up, no file reading).

What the package does here (atproto 0.0.73):
- `Frame.from_bytes` (atproto_subscription, what FirehoseSubscribeReposClient calls on each
  websocket message): header and body decoded (libipld's Rust `decode_dag_cbor_multi`).
- `parse_subscribe_repos_message` (atproto_firehose): the body turned into the pydantic
  `com.atproto.sync.subscribeRepos#commit` model (ops, CIDs, strings).
- `CAR.from_bytes(commit.blocks)` (atproto_core, libipld's `decode_car`): the CAR slice split
  and every block decoded (strict DAG-CBOR; links come back as raw bytes).
- Each created/updated op's record looked up in the decoded blocks by the op's CID and
  turned into its model with `models.get_or_create(record, strict=False)`, as the package's
  firehose examples do.
- The commit signature checked with `atproto_crypto.verify.verify_signature` (the account's
  did:key from DIR/keys.txt; secp256k1 through `cryptography`/OpenSSL).

What the package does not do, and this driver adds:
- Block hashes: libipld does not check blocks against their CIDs, so every block of the CAR
  slice is hashed here (hashlib SHA-256, compared with the CID's digest).
- The signing input: the decoded commit has lost its link types (a re-encoding would not give
  the signed bytes), so the unsigned commit is cut from the raw commit block here (the `sig`
  entry removed, the map header one entry shorter; checked to be the canonical shape).
- The commit block is found by the CAR root and its `did` compared with the frame's `repo`.

Not checked (no MST code in the package): that each op's path leads to its CID in the new
tree, sync 1.1 (prevData: the previous tree from the inverted ops), rev order and `since`.
"""

import hashlib
import sys
import time

from atproto_client import models
from atproto_core.car import CAR
from atproto_crypto.verify import verify_signature
from atproto_firehose import parse_subscribe_repos_message
from atproto_subscription.frames import Frame

SHA2_256 = 0x12
# The sig entry of a canonical DAG-CBOR commit: text "sig", then a 64-byte byte string.
SIG_ENTRY = b'\x63sig\x58\x40'


def read_varint(buf: memoryview, pos: int) -> 'tuple[int, int]':
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


def check_block_hashes(data: bytes) -> 'dict[bytes, memoryview]':
    """Check every block of the CAR against its CID's SHA-256 digest; return digest -> bytes."""
    buf = memoryview(data)
    header_len, pos = read_varint(buf, 0)
    pos += header_len
    blocks = {}
    while pos < len(buf):
        section_len, pos = read_varint(buf, pos)
        end = pos + section_len
        if end > len(buf):
            raise ValueError(f'block section at byte {pos} runs past the end of the CAR')
        version, p = read_varint(buf, pos)
        _codec, p = read_varint(buf, p)
        code, p = read_varint(buf, p)
        size, p = read_varint(buf, p)
        if version != 1 or code != SHA2_256 or size != 32:
            raise ValueError(f'block at byte {pos}: not a CIDv1 with a SHA-256 multihash')
        digest = bytes(buf[p : p + size])
        p += size
        if hashlib.sha256(buf[p:end]).digest() != digest:
            raise ValueError(f'block at byte {pos}: bytes do not hash to its CID')
        blocks[digest] = buf[p:end]
        pos = end
    return blocks


def unsigned_commit(raw: bytes) -> 'tuple[bytes, bytes]':
    """(signing input, signature) of a canonical commit block (a map of 6 entries, sig 3rd)."""
    at = raw.find(SIG_ENTRY)
    if raw[0] != 0xA6 or at < 0 or raw.find(SIG_ENTRY, at + 1) >= 0:
        raise ValueError('commit block is not a canonical 6-entry map with one sig')
    end = at + len(SIG_ENTRY) + 64
    return b'\xa5' + raw[1:at] + raw[end:], raw[at + len(SIG_ENTRY) : end]


def main() -> None:
    directory = sys.argv[1]
    with open(f'{directory}/frames.bin', 'rb') as f:
        data = f.read()
    keys = {}
    with open(f'{directory}/keys.txt') as f:
        for line in f:
            did, key = line.split()
            keys[did] = key
    frames = []
    pos = 0
    while pos + 4 <= len(data):
        n = int.from_bytes(data[pos : pos + 4], 'little')
        frames.append(data[pos + 4 : pos + 4 + n])
        pos += 4 + n

    ok = 0
    records = 0
    t0 = time.perf_counter()
    for frame in frames:
        message = parse_subscribe_repos_message(Frame.from_bytes(frame))
        if not isinstance(message, models.ComAtprotoSyncSubscribeRepos.Commit):
            continue
        raw_blocks = check_block_hashes(message.blocks)
        car = CAR.from_bytes(message.blocks)
        commit = car.blocks.get(car.root)
        if not isinstance(commit, dict) or commit.get('did') != message.repo:
            raise ValueError(f'seq {message.seq}: commit block missing or for another repo')
        signing_input, sig = unsigned_commit(bytes(raw_blocks[car.root.hash.digest]))
        if sig != commit['sig'] or not verify_signature(keys[message.repo], signing_input, sig):
            raise ValueError(f'seq {message.seq}: bad commit signature')
        for op in message.ops:
            if op.action in ('create', 'update'):
                record = car.blocks.get(op.cid)
                if record is None:
                    raise ValueError(f'seq {message.seq}: record of {op.path} not in the CAR')
                models.get_or_create(record, strict=False)
                records += 1
        ok += 1
    print(f'loop_ms {(time.perf_counter() - t0) * 1000:.1f}', file=sys.stderr)
    print(f'{records} records decoded', file=sys.stderr)
    print(ok)
    if ok != len(frames):
        print(f'{len(frames) - ok} of {len(frames)} frames not commits', file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
