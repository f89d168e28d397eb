// Reads a Jetstream endpoint with the third-party @skyware/jetstream client and prints
// each commit, identity and account event it hands out as one JSON line; exits after
// COUNT events or TIMEOUT_MS. Usage: [WANTED_DIDS=did,did] node read.mjs ENDPOINT COUNT
// TIMEOUT_MS [CURSOR] [COLLECTION...]
import { Jetstream } from "@skyware/jetstream";

const [endpoint, count, timeoutMs, cursor, ...collections] = process.argv.slice(2);
const options = { endpoint };
if (cursor && cursor !== "-") options.cursor = Number(cursor);
if (collections.length) options.wantedCollections = collections;
if (process.env.WANTED_DIDS) options.wantedDids = process.env.WANTED_DIDS.split(",");
const js = new Jetstream(options);
let seen = 0;
const done = (code) => { js.close(); process.exit(code); };
const out = (event) => {
  process.stdout.write(JSON.stringify(event) + "\n");
  if (++seen >= Number(count)) done(0);
};
js.on("commit", out);
js.on("identity", out);
js.on("account", out);
js.on("error", (e) => { process.stderr.write(`error: ${e}\n`); });
js.start();
setTimeout(() => done(seen >= Number(count) ? 0 : 2), Number(timeoutMs));
