// An independent IPFS node (Helia with its Bitswap, on js-libp2p: TCP, Noise, Yamux,
// identify, ping), built from parts so that it dials nothing but what it is told:
// no bootstrap list, no peer discovery, no routers, no HTTP gateways.
//
//   node helia.mjs serve DIR      puts every file of DIR (named by its CID, holding the
//                                 block's bytes) into its blockstore, prints
//                                 {"peerId", "addrs"} on one line, serves until stdin ends.
//   node helia.mjs fetch ADDR [CID...]  dials ADDR, gets each block over Bitswap (the CIDs
//                                 from the arguments, else one per line on stdin), prints
//                                 {"cid", "bytes": base64} per line (or {"cid", "error"}).
//
// Everything on 127.0.0.1.
import { createHeliaLight } from 'helia'
import { withLibp2pLight } from '@helia/libp2p'
import { withBitswap } from '@helia/bitswap'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
import * as dagCbor from '@ipld/dag-cbor'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'

const [mode, ...args] = process.argv.slice(2)

let helia = createHeliaLight({ codecs: [dagCbor] })
helia = withLibp2pLight(helia, {
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  peerDiscovery: [],
  services: { identify: identify(), ping: ping() }
})
helia = withBitswap(helia)
await helia.start()

async function bytesOf (got) {
  if (got instanceof Uint8Array) return got
  const chunks = []
  for await (const c of got) chunks.push(c)
  return Buffer.concat(chunks)
}

if (mode === 'serve') {
  const dir = args[0]
  for (const name of await readdir(dir)) {
    const cid = CID.parse(name)
    await helia.blockstore.put(cid, await readFile(join(dir, name)))
  }
  console.log(JSON.stringify({
    peerId: helia.libp2p.peerId.toString(),
    addrs: helia.libp2p.getMultiaddrs().map(a => a.toString())
  }))
  process.stdin.resume()
  await new Promise(resolve => process.stdin.on('end', resolve))
} else if (mode === 'fetch') {
  const [addr, ...given] = args
  let cids = given
  if (cids.length === 0) {
    const chunks = []
    for await (const c of process.stdin) chunks.push(c)
    cids = Buffer.concat(chunks).toString().split('\n').map(l => l.trim()).filter(l => l !== '')
  }
  await helia.libp2p.dial(multiaddr(addr))
  await Promise.all(cids.map(async (c) => {
    try {
      const got = await helia.blockstore.get(CID.parse(c), { signal: AbortSignal.timeout(20_000) })
      const bytes = await bytesOf(got)
      console.log(JSON.stringify({ cid: c, bytes: Buffer.from(bytes).toString('base64') }))
    } catch (e) {
      console.log(JSON.stringify({ cid: c, error: String(e) }))
    }
  }))
} else {
  console.error('usage: node helia.mjs serve DIR | fetch ADDR CID...')
  process.exit(2)
}
await helia.stop()
// Exit once stdout is flushed (a pipe is written asynchronously).
process.stdout.write('', () => process.exit(0))
