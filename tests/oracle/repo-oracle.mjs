// Differential oracle for atmo-repo: builds signed repositories with the official
// @atproto/repo package and prints their commit CID and MST root.
//
//   node repo-oracle.mjs JOBS.json [CAR_OUT_DIR]
//
// JOBS.json is a JSON array of jobs:
//   {"did": "did:plc:...", "privateKeyHex": "<64 hex>", "curve": "k256" | "p256",
//    "rev": "<TID>", "records": [{"path": "collection/rkey", "value": <atproto JSON>}]}
// For each job, one JSON line is printed: {"commit": "<CID>", "data": "<MST root CID>",
// "records": N}. With CAR_OUT_DIR, job i's repository is also written as <i>.car there.
import fs from 'node:fs'
import path from 'node:path'
import { Repo, MemoryBlockstore, WriteOpAction, blocksToCarFile } from '@atproto/repo'
import { Secp256k1Keypair, P256Keypair } from '@atproto/crypto'
import { jsonToLex } from '@atproto/lex-json'

const [jobsFile, outDir] = process.argv.slice(2)
if (!jobsFile) {
  console.error('usage: node repo-oracle.mjs JOBS.json [CAR_OUT_DIR]')
  process.exit(2)
}
const jobs = JSON.parse(fs.readFileSync(jobsFile, 'utf8'))
if (outDir) fs.mkdirSync(outDir, { recursive: true })

for (const [i, job] of jobs.entries()) {
  const keypair = job.curve === 'p256'
    ? await P256Keypair.import(job.privateKeyHex)
    : await Secp256k1Keypair.import(job.privateKeyHex)
  const writes = job.records.map(({ path: p, value }) => {
    const slash = p.indexOf('/')
    return {
      action: WriteOpAction.Create,
      collection: p.slice(0, slash),
      rkey: p.slice(slash + 1),
      record: jsonToLex(value),
    }
  })
  const storage = new MemoryBlockstore()
  const commit = await Repo.formatInitCommit(storage, job.did, keypair, writes, job.rev)
  const repo = await Repo.createFromCommit(storage, commit)
  if (outDir) {
    const car = await blocksToCarFile(repo.cid, storage.blocks)
    fs.writeFileSync(path.join(outDir, `${i}.car`), car)
  }
  console.log(JSON.stringify({ commit: repo.cid.toString(), data: repo.data.pointer.toString(), records: writes.length }))
}
