// Differential oracle for the string syntaxes. The input file holds a JSON array of
// [kind, value] pairs; for each, prints one line {"strict": bool, "record": bool}:
// - strict: the @atproto/syntax validator for the kind, in its strict form;
// - record: whether @atproto/lexicon accepts a record whose string field has that
//   format and value (what a PDS checks before it stores a record).
import { readFileSync } from 'node:fs'
import * as syntax from '@atproto/syntax'
import { Lexicons } from '@atproto/lexicon'

const strict = {
  did: syntax.isValidDid,
  handle: syntax.isValidHandle,
  nsid: syntax.isValidNsid,
  'at-uri': (s) => syntax.isAtUriString(s),
  'at-identifier': syntax.isAtIdentifierString,
  tid: syntax.isValidTid,
  'record-key': syntax.isValidRecordKey,
  datetime: syntax.isDatetimeString,
  language: (s) => syntax.parseLanguageString(s) !== null,
  uri: syntax.isValidUri,
  cid: () => null,
}

const id = 'test.oracle.format'
const properties = {}
for (const kind of Object.keys(strict)) {
  properties[kind] = { type: 'string', format: kind }
}
const lex = new Lexicons([
  {
    lexicon: 1,
    id,
    defs: {
      main: { type: 'record', key: 'any', record: { type: 'object', properties } },
    },
  },
])

const pairs = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const out = []
for (const [kind, value] of pairs) {
  let s = null
  try {
    s = strict[kind](value)
  } catch {
    s = false
  }
  let record
  try {
    lex.assertValidRecord(id, { $type: id, [kind]: value })
    record = true
  } catch {
    record = false
  }
  out.push(JSON.stringify({ strict: s, record }))
}
process.stdout.write(out.join('\n') + '\n')
