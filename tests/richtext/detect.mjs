// The official facet detection, over JSON lines: each input line is a JSON string (a
// text); each output line is the JSON array of the facets that `RichText` of
// @atproto/api finds in it (mentions unresolved: `detectFacetsWithoutResolution`), as
// [{"byteStart": n, "byteEnd": n, "type": "mention" | "link" | "tag", "value": "..."}].
// Usage: node detect.mjs < texts.jsonl > facets.jsonl
import { RichText } from '@atproto/api'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const lines = Buffer.concat(chunks).toString('utf8').split('\n')
const out = []
for (const line of lines) {
  if (line === '') continue
  const rt = new RichText({ text: JSON.parse(line) })
  rt.detectFacetsWithoutResolution()
  const facets = (rt.facets ?? []).map((f) => {
    const feature = f.features[0]
    const type = feature.$type.replace('app.bsky.richtext.facet#', '')
    const value = type === 'mention' ? feature.did : type === 'link' ? feature.uri : feature.tag
    if (f.features.length !== 1) throw new Error(`expected one feature: ${JSON.stringify(f)}`)
    return { byteStart: f.index.byteStart, byteEnd: f.index.byteEnd, type, value }
  })
  out.push(JSON.stringify(facets))
}
process.stdout.write(out.join('\n') + (out.length ? '\n' : ''))
