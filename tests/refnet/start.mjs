// The reference network for atmo's tests: a did:plc directory (in memory) and the official
// PDS, both in this one Node 22 process, both on 127.0.0.1 only.
//
// Run with the Node 22 from node_modules (see ./install):
//   node_modules/.bin/node start.mjs [--ignore-stdin]
//
// When both answer their health checks it prints exactly one JSON line on stdout:
//   {"pds":"http://localhost:<port>","plc":"http://127.0.0.1:<port>","adminPassword":"...","pid":...}
// Everything else (logs, errors) goes to stderr. It stops on SIGTERM, SIGINT, and when stdin
// closes (so a parent that dies never leaves it running); `--ignore-stdin` turns the last one
// off, for the `up` script, which runs it in the background.
//
// Environment: any PDS_* variable is passed to the PDS (e.g. PDS_RATE_LIMITS_ENABLED=true),
// except those that fix where it lives (port, hostname, data directory, blobstore, PLC URL).
// REFNET_LOOPBACK_NAMES (comma-separated host names) adds names that resolve to 127.0.0.1
// inside this process; with NODE_EXTRA_CA_CERTS the PDS then fetches a test's own https
// documents (an OAuth client's metadata and JWKS) from a name the OAuth provider accepts.
// LOG_ENABLED=true turns on the servers' own logs (to stderr unless LOG_DESTINATION is set).

import crypto from 'node:crypto'
import dns from 'node:dns'
import fs from 'node:fs'
import { createRequire, syncBuiltinESMExports } from 'node:module'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

const LOOPBACK = '127.0.0.1'
const started = Date.now()
const ignoreStdin = process.argv.includes('--ignore-stdin')

// A parent that went away leaves stderr without a reader: writing must never crash the
// shutdown (which removes the data directory).
process.stderr.on('error', () => {})
const log = (msg) => {
  try {
    process.stderr.write(`refnet: ${msg}\n`)
  } catch {
    // nobody is listening any more
  }
}

// ---------------------------------------------------------------------------------------
// Nothing leaves 127.0.0.1: guards installed before any server code is loaded.

// REFNET_LOOPBACK_NAMES=a.example.dev,b.example.dev: extra host names answered 127.0.0.1,
// as if they were local. A test serving an https client metadata document (whose
// client_id must name a public-looking host) uses one; it still never leaves loopback.
const extraNames = new Set(
  (process.env.REFNET_LOOPBACK_NAMES ?? '')
    .split(',')
    .map((n) => n.trim().toLowerCase().replace(/\.$/, ''))
    .filter((n) => n !== ''),
)

const isLocalName = (host) => {
  const h = String(host).toLowerCase().replace(/\.$/, '')
  return h === 'localhost' || h.endsWith('.localhost') || extraNames.has(h)
}

const isLoopbackIp = (host) => {
  const h = String(host).replace(/^\[|\]$/g, '')
  const kind = net.isIP(h)
  if (kind === 4) return h.startsWith('127.')
  if (kind === 6) {
    const lower = h.toLowerCase()
    return lower === '::1' || lower === '0:0:0:0:0:0:0:1' || lower.startsWith('::ffff:127.')
  }
  return false
}

const isLoopbackHost = (host) => isLocalName(host) || isLoopbackIp(host)

const refusal = (what, syscall = 'getaddrinfo', code = 'ENOTFOUND') =>
  Object.assign(new Error(`${syscall} ${code} ${what} (refnet: only loopback traffic is allowed)`), {
    code,
    syscall,
    hostname: String(what),
  })

// dns.lookup (used by net, http, undici): local names answer 127.0.0.1 without asking any
// resolver (so `localhost` never becomes ::1, where nothing listens); loopback literals pass;
// everything else fails as ENOTFOUND.
const origLookup = dns.lookup
const answerLoopback = (options, callback) => {
  const all = typeof options === 'object' && options !== null && options.all
  process.nextTick(() => (all ? callback(null, [{ address: LOOPBACK, family: 4 }]) : callback(null, LOOPBACK, 4)))
}
function guardedLookup(hostname, options, callback) {
  if (typeof options === 'function') {
    callback = options
    options = {}
  }
  if (isLocalName(hostname)) return answerLoopback(options, callback)
  if (isLoopbackIp(hostname)) return origLookup.call(dns, hostname, options, callback)
  process.nextTick(() => callback(refusal(hostname)))
  return undefined
}
dns.lookup = guardedLookup
dns.promises.lookup = (hostname, options = {}) =>
  new Promise((resolve, reject) => {
    guardedLookup(hostname, options, (err, address, family) => {
      if (err) reject(err)
      else resolve(typeof address === 'string' ? { address, family } : address)
    })
  })

// Every resolver query (TXT for handles, A, ...) would go to a DNS server: refuse them all.
const resolveNames = (obj) =>
  Object.getOwnPropertyNames(obj).filter((k) => /^resolve|^reverse$/.test(k) && typeof obj[k] === 'function')
for (const name of resolveNames(dns)) {
  dns[name] = (host, ...rest) => {
    const cb = rest.findLast((a) => typeof a === 'function')
    process.nextTick(() => cb?.(refusal(host, `query${name.replace(/^resolve/, '')}`)))
  }
}
for (const name of resolveNames(dns.promises)) {
  dns.promises[name] = async (host) => {
    throw refusal(host, `query${name.replace(/^resolve/, '')}`)
  }
}
for (const proto of [dns.Resolver.prototype, dns.promises.Resolver.prototype]) {
  const isPromise = proto === dns.promises.Resolver.prototype
  for (const name of resolveNames(proto)) {
    proto[name] = isPromise
      ? async (host) => {
          throw refusal(host, 'query')
        }
      : (host, ...rest) => {
          const cb = rest.findLast((a) => typeof a === 'function')
          process.nextTick(() => cb?.(refusal(host, 'query')))
        }
  }
}

// Outgoing TCP (and TLS, which sits on it): only to loopback addresses or local names.
const origConnect = net.Socket.prototype.connect
net.Socket.prototype.connect = function (...args) {
  let opts
  const a0 = args[0]
  if (Array.isArray(a0)) opts = a0[0] // net.connect passes its normalized arguments
  else if (a0 !== null && typeof a0 === 'object') opts = a0
  else if (typeof a0 === 'number' || (typeof a0 === 'string' && /^\d+$/.test(a0)))
    opts = { port: a0, host: typeof args[1] === 'string' ? args[1] : undefined }
  else opts = { path: a0 } // a Unix socket path
  if (opts && opts.path === undefined) {
    const host = opts.host ?? 'localhost'
    if (!isLoopbackHost(host)) {
      const err = refusal(host, 'connect', 'ECONNREFUSED')
      log(`refused an outgoing connection to ${host}:${opts.port}`)
      process.nextTick(() => this.destroy(err))
      return this
    }
  }
  return origConnect.apply(this, args)
}

// Listening: a port with no host would bind every interface; bind 127.0.0.1 instead, and
// refuse any other host outright.
const origListen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  const a0 = args[0]
  if (a0 !== null && typeof a0 === 'object' && !Array.isArray(a0)) {
    if (a0.path === undefined && a0.handle === undefined && a0._handle === undefined && a0.fd === undefined) {
      if (a0.host !== undefined && !isLoopbackHost(a0.host)) throw refusal(a0.host, 'listen', 'EACCES')
      args[0] = { ...a0, host: a0.host === undefined || isLocalName(a0.host) ? LOOPBACK : a0.host }
    }
    return origListen.apply(this, args)
  }
  if (typeof a0 === 'string' && !/^\d+$/.test(a0)) return origListen.apply(this, args) // Unix socket
  const portGiven = typeof a0 === 'number' || typeof a0 === 'string' || a0 === undefined || a0 === null
  const port = portGiven ? (a0 ?? 0) : 0
  const rest = portGiven ? args.slice(1) : args
  let host = LOOPBACK
  if (typeof rest[0] === 'string') {
    const given = rest.shift()
    if (!isLoopbackHost(given)) throw refusal(given, 'listen', 'EACCES')
    if (!isLocalName(given)) host = given
  }
  return origListen.call(this, port, host, ...rest)
}

syncBuiltinESMExports()

// ---------------------------------------------------------------------------------------
// Logs: stdout carries only the one JSON line.

if (/^(true|t|1)$/i.test(process.env.LOG_ENABLED ?? '') && !process.env.LOG_DESTINATION) {
  process.env.LOG_DESTINATION = '/dev/stderr'
}
const stdoutFd = 1
process.stdout.write = (chunk, encoding, cb) => process.stderr.write(chunk, encoding, cb)
console.log = console.error
console.info = console.error

// ---------------------------------------------------------------------------------------
// Start-up.

const freePort = () =>
  new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, LOOPBACK, () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })

const waitHealthy = async (url, deadlineMs) => {
  let last
  while (Date.now() < deadlineMs) {
    try {
      const res = await fetch(url)
      if (res.ok) return
      last = `status ${res.status}`
    } catch (err) {
      last = err.message
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${url} not healthy: ${last}`)
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'atmo-refnet-'))
let plc
let pds
let stopping = false

const removeDataDir = () => {
  try {
    fs.rmSync(dataDir, { recursive: true, force: true })
  } catch (err) {
    log(`could not remove ${dataDir}: ${err.message}`)
  }
}

const stop = async (why, code = 0) => {
  if (stopping) return
  stopping = true
  log(`stopping (${why})`)
  const hard = setTimeout(() => {
    log('stop took over 10 s; exiting anyway')
    removeDataDir()
    process.exit(code || 1)
  }, 10_000)
  hard.unref()
  for (const [name, server] of [
    ['pds', pds],
    ['plc', plc],
  ]) {
    try {
      await server?.destroy()
    } catch (err) {
      log(`${name} destroy: ${err.message}`)
    }
  }
  removeDataDir()
  log('stopped')
  process.exit(code)
}

process.on('SIGTERM', () => stop('SIGTERM'))
process.on('SIGINT', () => stop('SIGINT'))
process.on('SIGHUP', () => stop('SIGHUP'))
if (!ignoreStdin) {
  process.stdin.on('data', () => {})
  process.stdin.on('end', () => stop('stdin closed'))
  process.stdin.on('error', () => stop('stdin error'))
  process.stdin.resume()
}

// Variables the caller may not override: they say where the network lives.
const FIXED = new Set(['port', 'hostname', 'dataDirectory', 'blobstoreDiskLocation', 'didPlcUrl'])

const main = async () => {
  const require = createRequire(import.meta.url)
  const { PlcServer, Database } = require('@did-plc/server')
  const { PDS, readEnv } = await import('@atproto/pds')
  const { Secp256k1Keypair } = await import('@atproto/crypto')

  plc = PlcServer.create({ db: Database.mock(), port: 0 })
  const plcServer = await plc.start()
  const plcUrl = `http://${LOOPBACK}:${plcServer.address().port}`
  // The PDS reaches the directory by name: its identity resolver fetches through a "safe"
  // fetch that refuses IP-literal hosts outright (`allowIpHost: false`), so with the
  // 127.0.0.1 URL every DID resolution inside the PDS (describeRepo, service proxying)
  // failed with "Invalid hostname". `localhost` is answered 127.0.0.1 by the lookup guard
  // above, so this still never leaves loopback. The ready line keeps the 127.0.0.1 URL.
  const plcUrlForPds = `http://localhost:${plcServer.address().port}`

  const rotationKey = await Secp256k1Keypair.create({ exportable: true })
  const fromEnv = Object.fromEntries(
    // readEnv() gives undefined for unset variables and [] for unset lists.
    Object.entries(readEnv()).filter(
      ([k, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0) && !FIXED.has(k),
    ),
  )
  for (const k of Object.keys(fromEnv)) log(`PDS setting from the environment: ${k}`)
  const secrets = {
    adminPassword: crypto.randomBytes(16).toString('hex'),
    jwtSecret: crypto.randomBytes(32).toString('hex'),
    dpopSecret: crypto.randomBytes(32).toString('hex'),
    plcRotationKeyK256PrivateKeyHex: Buffer.from(await rotationKey.export()).toString('hex'),
  }
  // The free port is found before the PDS takes it (its URL goes into its config), so
  // another process may take it in between: then try another one.
  let env
  let pdsPort
  for (let attempt = 1; ; attempt++) {
    pdsPort = await freePort()
    env = {
      devMode: true,
      serviceHandleDomains: ['.test'],
      inviteRequired: false,
      ...secrets,
      ...fromEnv,
      port: pdsPort,
      hostname: 'localhost',
      dataDirectory: dataDir,
      blobstoreDiskLocation: path.join(dataDir, 'blobs'),
      didPlcUrl: plcUrlForPds,
    }
    pds = await PDS.fromEnv(env)
    try {
      await pds.start()
      break
    } catch (err) {
      if (err?.code !== 'EADDRINUSE' || attempt === 3) throw err
      log(`port ${pdsPort} was taken meanwhile; trying another`)
      await pds.destroy().catch(() => {})
    }
  }
  const pdsUrl = `http://localhost:${pdsPort}`

  const deadline = Date.now() + 30_000
  await waitHealthy(`${plcUrl}/_health`, deadline)
  await waitHealthy(`http://${LOOPBACK}:${pdsPort}/xrpc/_health`, deadline)

  const line = JSON.stringify({ pds: pdsUrl, plc: plcUrl, adminPassword: env.adminPassword, dataDir, pid: process.pid })
  fs.writeSync(stdoutFd, `${line}\n`)
  log(`ready in ${Date.now() - started} ms: pds ${pdsUrl}, plc ${plcUrl}, data ${dataDir}, pid ${process.pid}`)
}

main().catch((err) => {
  log(`start-up failed: ${err?.stack ?? err}`)
  stop('start-up failed', 1)
})
