// Differential oracle for the data model's JSON reading: for each JSON text of the input
// file (a JSON array of strings), prints one line: {"cbor": "<hex>"} with the DAG-CBOR
// the reference implementation makes of it (@atproto/lex-json strict parsing, then
// @atproto/lex-cbor), or {"error": "<message>"}.
import { readFileSync } from 'node:fs'
import { lexParse } from '@atproto/lex-json'
import { encode } from '@atproto/lex-cbor'

const texts = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const out = []
for (const text of texts) {
  try {
    const value = lexParse(text, { strict: true })
    out.push(JSON.stringify({ cbor: Buffer.from(encode(value)).toString('hex') }))
  } catch (e) {
    out.push(JSON.stringify({ error: String(e && e.message) }))
  }
}
process.stdout.write(out.join('\n') + '\n')
