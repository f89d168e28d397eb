// Differential oracle for atmo-repo's apply_writes: builds a repository with the official
// @atproto/repo package, then applies batches of creates, updates and deletes to its
// Merkle Search Tree and signs each new commit with the rev the job gives (the package's
// own applyWrites picks the rev from the clock, which a differential test cannot use).
//
//   node writes-oracle.mjs JOBS.json
//
// A job is a repo-oracle.mjs job plus "steps": [{"rev": "<TID>", "writes": [{"action":
// "create" | "update" | "delete", "path": "collection/rkey", "value": <atproto JSON>}]}].
// For each job, one JSON line: {"steps": [{"commit", "data", "blocks"}]} where "blocks"
// lists, sorted, the CIDs the reference PDS puts in the step's #commit: the new tree
// nodes, the new record blocks, the covering proofs of the written paths, the commit.
import fs from 'node:fs'
import { Repo, MemoryBlockstore, WriteOpAction, DataDiff, BlockMap, signCommit } from '@atproto/repo'
import { Secp256k1Keypair, P256Keypair } from '@atproto/crypto'
import { jsonToLex } from '@atproto/lex-json'
import { encode } from '@atproto/lex-cbor'
import { cidForCbor } from '@atproto/lex-data'

const [jobsFile] = process.argv.slice(2)
if (!jobsFile) {
  console.error('usage: node writes-oracle.mjs JOBS.json')
  process.exit(2)
}
const jobs = JSON.parse(fs.readFileSync(jobsFile, 'utf8'))

const split = (p) => {
  const slash = p.indexOf('/')
  return [p.slice(0, slash), p.slice(slash + 1)]
}

for (const job of jobs) {
  const keypair = job.curve === 'p256'
    ? await P256Keypair.import(job.privateKeyHex)
    : await Secp256k1Keypair.import(job.privateKeyHex)
  const initial = job.records.map(({ path: p, value }) => {
    const [collection, rkey] = split(p)
    return { action: WriteOpAction.Create, collection, rkey, record: jsonToLex(value) }
  })
  const storage = new MemoryBlockstore()
  const commit = await Repo.formatInitCommit(storage, job.did, keypair, initial, job.rev)
  const repo = await Repo.createFromCommit(storage, commit)
  let data = repo.data
  const steps = []
  for (const step of job.steps) {
    const prevData = data
    const leaves = new BlockMap()
    for (const w of step.writes) {
      if (w.action === 'create') {
        data = await data.add(w.path, await leaves.add(jsonToLex(w.value)))
      } else if (w.action === 'update') {
        data = await data.update(w.path, await leaves.add(jsonToLex(w.value)))
      } else {
        data = await data.delete(w.path)
      }
    }
    const dataCid = await data.getPointer()
    const signed = await signCommit(
      { did: job.did, version: 3, rev: step.rev, prev: null, data: dataCid },
      keypair,
    )
    const commitCid = await cidForCbor(encode(signed))
    const diff = await DataDiff.of(data, prevData)
    const blocks = new BlockMap()
    blocks.addMap(diff.newMstBlocks)
    for (const w of step.writes) blocks.addMap(await data.getCoveringProof(w.path))
    blocks.addMap(leaves.getMany(diff.newLeafCids.toList()).blocks)
    const cids = blocks.cids().map((c) => c.toString())
    cids.push(commitCid.toString())
    cids.sort()
    steps.push({ commit: commitCid.toString(), data: dataCid.toString(), blocks: cids })
  }
  console.log(JSON.stringify({ steps }))
}
