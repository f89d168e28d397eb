// @atproto/repo side of benches/repo-compare: CAR file -> every record decoded, through
// the package's own verify path (`verifyRecords`: every block checked against its CID,
// the commit signature checked, every leaf of the tree read and its record decoded).
// Prints the record count. The key and DID are those of gen-corpus.mjs.
//
//   node tests/oracle/bench-read.mjs FILE.car
import fs from 'node:fs'
import { verifyRecords } from '@atproto/repo'
import { Secp256k1Keypair } from '@atproto/crypto'

const DID = 'did:plc:atmobenchcorpus000000000'
const key = await Secp256k1Keypair.import('9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c')
const bytes = fs.readFileSync(process.argv[2])
const records = await verifyRecords(new Uint8Array(bytes), DID, key.did())
let n = 0
for (const r of records) {
  if (r.record !== undefined && r.record !== null) n++
}
console.log(n)
