// Node driver of benches/firehose-compare (run by run.sh with Node >= 22: the pinned
// @atproto packages require it). Every frame of DIR/frames.bin goes through what the
// official TypeScript consumer, @atproto/sync's Firehose (authenticated commits, the
// default), does with a websocket message, called here on the recorded bytes:
//   1. @atproto/xrpc-server ensureChunkIsMessage (Frame.fromBytes): the DAG-CBOR header
//      and body decoded, the frame checked to be a message frame;
//   2. the body typed as Subscription does ($type = com.atproto.sync.subscribeRepos#commit)
//      and validated against the subscribeRepos lexicon (the Firehose's `validate`:
//      com.atproto.sync.subscribeRepos.$message.safeParse, @atproto/sync's own lexicons);
//   3. @atproto/sync parseCommitAuthenticated with an id resolver answering the account's
//      did:key from DIR/keys.txt (no network): @atproto/repo verifyProofs, i.e.
//      readCarWithRoot (every CAR block's hash checked), the commit block read, its did
//      compared, its signature checked (@atproto/repo verifyCommitSig -> @atproto/crypto
//      verifySignature, k256 in JavaScript), then each op's path looked up in the new MST
//      and its CID compared with the op's (a delete: the path absent); then formatCommitOps:
//      readCar again (hashes checked again) and each created/updated record decoded
//      (cborToLexRecord).
// Not checked (the TypeScript stack does not): sync 1.1 (prevData: the previous tree
// reconstructed by inverting the ops), the rev order and `since` chaining per account.
// Frames are processed one after another, each awaited, as Firehose.processEvt does.
// Prints the number of frames whose every op verified; exits 1 if one did not. Prints
// `loop_ms N` on stderr: the time of the frame loop alone (no start-up, no file reading).
//
// With --unauthenticated: @atproto/sync parseCommitUnauthenticated instead of step 3 (what
// Firehose does with `unauthenticatedCommits: true`): readCar (block hashes checked) and the
// records decoded; no signature, no MST proof of the ops.
//
//   node bench-firehose.mjs DIR [--unauthenticated]
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ensureChunkIsMessage } from '@atproto/xrpc-server'
import { parseCommitAuthenticated, parseCommitUnauthenticated } from '@atproto/sync'
// @atproto/sync's generated lexicons are not in its package exports: imported by file.
import { com } from './node_modules/@atproto/sync/dist/lexicons/index.js'

const dir = process.argv[2]
const unauthenticated = process.argv[3] === '--unauthenticated'
if (!dir) throw new Error('usage: node bench-firehose.mjs DIR')
const bytes = readFileSync(join(dir, 'frames.bin'))
const frames = []
for (let at = 0; at + 4 <= bytes.length; ) {
  const len = bytes.readUInt32LE(at)
  frames.push(new Uint8Array(bytes.buffer, bytes.byteOffset + at + 4, len))
  at += 4 + len
}
const keys = new Map()
for (const line of readFileSync(join(dir, 'keys.txt'), 'utf8').split('\n')) {
  if (!line) continue
  const [did, key] = line.split(' ')
  keys.set(did, key)
}
const idResolver = {
  did: {
    resolveAtprotoKey: async (did) => {
      const key = keys.get(did)
      if (!key) throw new Error(`no key for ${did}`)
      return key
    },
  },
}
const method = com.atproto.sync.subscribeRepos.$lxm
let ok = 0
let records = 0
const t0 = performance.now()
for (const frame of frames) {
  const message = ensureChunkIsMessage(frame)
  const t = message.header.t
  const typed = { ...message.body, $type: t.startsWith('#') ? method + t : t }
  const result = com.atproto.sync.subscribeRepos.$message.safeParse(typed)
  if (!result.success) throw new Error(`frame does not validate: ${result.reason}`)
  const evt = result.value
  if (!com.atproto.sync.subscribeRepos.commit.$isTypeOf(evt)) continue
  const evts = unauthenticated
    ? await parseCommitUnauthenticated(evt, null)
    : await parseCommitAuthenticated(idResolver, evt, null)
  if (evts.length === evt.ops.length) ok++
  for (const e of evts) if (e.record) records++
}
console.error(`loop_ms ${(performance.now() - t0).toFixed(1)}`)
console.error(`${records} records decoded`)
console.log(ok)
if (ok !== frames.length) {
  console.error(`${frames.length - ok} of ${frames.length} frames did not verify`)
  process.exit(1)
}
