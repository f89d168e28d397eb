// Generates a realistic atproto repository with the official @atproto/repo package and
// writes every block of it, for atmo's benchmarks and cross-checks.
//
//   node gen-corpus.mjs [RECORDS] [OUT_DIR]     (defaults: 10000, ./out)
//
// Output (deterministic for a given RECORDS: fixed key, fixed seed, fixed clock):
//   OUT_DIR/repo-<N>.car     the repository as a CAR file (root = signed commit)
//   OUT_DIR/blocks-<N>.bin   every block, each as a 4-byte big-endian length + bytes
//                            (commit, MST nodes, records), in CID order
import fs from 'node:fs'
import path from 'node:path'
import { Repo, MemoryBlockstore, WriteOpAction, blocksToCarFile } from '@atproto/repo'
import { Secp256k1Keypair } from '@atproto/crypto'
import { cidForRawBytes } from '@atproto/lex-data'
import { TID } from '@atproto/common-web'

const N = Number(process.argv[2] ?? 10000)
const OUT = process.argv[3] ?? path.join(path.dirname(new URL(import.meta.url).pathname), 'out')

// Small deterministic PRNG (mulberry32).
let seed = 0x5eed1234
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const pick = (xs) => xs[Math.floor(rand() * xs.length)]
const WORDS = ('the of and to in is you that it he was for on are as with his they at be this ' +
  'from have or by one had not but what all were when we there can an your which their said ' +
  'atproto bluesky feed post repo firehose relay labeler handle did plc web record lexicon ' +
  'café naïve 日本語 emoji 🦋 ✨ über straße').split(' ')
const sentence = (min, max) => {
  const n = min + Math.floor(rand() * (max - min))
  const ws = []
  for (let i = 0; i < n; i++) ws.push(pick(WORDS))
  return ws.join(' ')
}
const enc = new TextEncoder()
const did = (i) => `did:plc:${(i * 2654435761 >>> 0).toString(32).padStart(8, 'a')}aaaaaaaaaaaaaaaa`.slice(0, 32)
let clock = Date.UTC(2024, 0, 1) * 1000
const nextTid = () => { clock += 1000 + Math.floor(rand() * 5_000_000); return TID.fromTime(clock, 7).toString() }
const createdAt = () => new Date(Math.floor(clock / 1000)).toISOString()

const DID = 'did:plc:atmobenchcorpus000000000'
const postRefs = []
const strongRef = () => postRefs.length ? pick(postRefs) : {
  uri: `at://${did(1)}/app.bsky.feed.post/3kaaaaaaaaaa2`,
  cid: 'bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a',
}

async function post(rkey) {
  const text = sentence(3, 45)
  const rec = { $type: 'app.bsky.feed.post', text, langs: [pick(['en', 'ja', 'de', 'fr'])], createdAt: createdAt() }
  if (rand() < 0.3) {
    const mention = '@alice.bsky.social'
    const start = enc.encode(text).length + 1
    rec.text = `${text} ${mention}`
    rec.facets = [{
      index: { byteStart: start, byteEnd: start + enc.encode(mention).length },
      features: [{ $type: 'app.bsky.richtext.facet#mention', did: did(Math.floor(rand() * 1000)) }],
    }]
  }
  if (rand() < 0.2) rec.reply = { root: strongRef(), parent: strongRef() }
  if (rand() < 0.1) {
    const blob = enc.encode(`image-${rkey}`)
    rec.embed = {
      $type: 'app.bsky.embed.images',
      images: [{
        alt: sentence(2, 8),
        image: { $type: 'blob', ref: await cidForRawBytes(blob), mimeType: 'image/jpeg', size: 100000 + Math.floor(rand() * 800000) },
        aspectRatio: { width: 1200, height: 800 },
      }],
    }
  }
  return rec
}

const writes = []
writes.push({
  action: WriteOpAction.Create, collection: 'app.bsky.actor.profile', rkey: 'self',
  record: { $type: 'app.bsky.actor.profile', displayName: 'Bench Corpus', description: sentence(10, 30), createdAt: createdAt() },
})
for (let i = 1; i < N; i++) {
  const rkey = nextTid()
  const r = rand()
  let collection, record
  if (r < 0.4) {
    collection = 'app.bsky.feed.post'
    record = await post(rkey)
    if (postRefs.length < 500) postRefs.push({ uri: `at://${DID}/${collection}/${rkey}`, cid: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm' })
  } else if (r < 0.75) {
    collection = 'app.bsky.feed.like'
    record = { $type: collection, subject: strongRef(), createdAt: createdAt() }
  } else if (r < 0.91) {
    collection = 'app.bsky.graph.follow'
    record = { $type: collection, subject: did(Math.floor(rand() * 100000)), createdAt: createdAt() }
  } else {
    collection = 'app.bsky.feed.repost'
    record = { $type: collection, subject: strongRef(), createdAt: createdAt() }
  }
  writes.push({ action: WriteOpAction.Create, collection, rkey, record })
}

const keypair = await Secp256k1Keypair.import('9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c')
const storage = new MemoryBlockstore()
const repo = await Repo.create(storage, DID, keypair, writes)
const blocks = storage.blocks
const car = await blocksToCarFile(repo.cid, blocks)

fs.mkdirSync(OUT, { recursive: true })
fs.writeFileSync(path.join(OUT, `repo-${N}.car`), car)
const entries = []
for (const [cid, bytes] of blocks) entries.push([cid.toString(), bytes])
entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
const parts = []
let total = 0
for (const [, bytes] of entries) {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(bytes.length)
  parts.push(len, Buffer.from(bytes))
  total += bytes.length
}
fs.writeFileSync(path.join(OUT, `blocks-${N}.bin`), Buffer.concat(parts))
console.log(`${N} records, ${entries.length} blocks, ${total} block bytes, root ${repo.cid}, CAR ${car.length} bytes -> ${OUT}`)
