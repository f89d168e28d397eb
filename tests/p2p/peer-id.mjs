// js-libp2p's PeerID of each secp256k1 public key read from stdin (one 33-byte
// compressed point in hex per line), one per line on stdout.
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { createInterface } from 'node:readline'

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue
  const key = publicKeyFromRaw(Buffer.from(line.trim(), 'hex'))
  console.log(peerIdFromPublicKey(key).toString())
}
