// Differential oracle for lexicon documents. The input file holds a JSON array of JSON
// texts; for each, prints one line {"ok": bool, "error": "..."}: whether the reference
// parser (@atproto/lexicon's parseLexiconDoc, what `new Lexicons([doc])` checks) accepts
// the document.
import { readFileSync } from 'node:fs'
import { parseLexiconDoc } from '@atproto/lexicon'

const texts = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const out = []
for (const text of texts) {
  try {
    parseLexiconDoc(JSON.parse(text))
    out.push(JSON.stringify({ ok: true }))
  } catch (e) {
    const msg = e && e.issues ? e.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : String(e && e.message)
    out.push(JSON.stringify({ ok: false, error: msg.slice(0, 300) }))
  }
}
process.stdout.write(out.join('\n') + '\n')
