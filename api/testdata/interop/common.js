'use strict'
// Shared by the interop clients: the byte pattern, the output, and a queue of a connection's
// events that the scenario awaits in order. Every event is printed as a JSON line the moment it
// happens (by the client script), so the Go side sees every event, expected or not, in order.

const crypto = require('crypto')
const fs = require('fs')

// pattern returns n pseudo-random bytes for seed: xorshift32, as interopPattern in interop_test.go.
function pattern (n, seed) {
  const b = Buffer.alloc(n)
  let x = (seed ^ 0x9e3779b9) >>> 0
  if (x === 0) x = 1
  for (let i = 0; i < n; i++) {
    x = (x ^ (x << 13)) >>> 0
    x = (x ^ (x >>> 17)) >>> 0
    x = (x ^ (x << 5)) >>> 0
    b[i] = x & 0xff
  }
  return b
}

function sha256 (b) {
  return crypto.createHash('sha256').update(b).digest('hex')
}

// out prints one event as a JSON line (stdout is a pipe: the write is synchronous on Linux).
const t0 = Date.now()
function out (ev) {
  process.stdout.write(JSON.stringify(ev) + '\n')
  if (process.env.INTEROP_TRACE) process.stderr.write((Date.now() - t0) + ' ms ' + ev.ev + '\n')
}

// Queue holds a connection's events until the scenario waits for them.
class Queue {
  constructor () {
    this.items = []
    this.waiter = null
  }

  push (ev) {
    this.items.push(ev)
    if (this.waiter) this.waiter()
  }

  // wait resolves with the next event named ev (events before it were printed already and are
  // dropped here: the Go side sees them in the output).
  wait (ev, ms = 15000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null
        reject(new Error('timed out after ' + ms + ' ms waiting for event ' + ev))
      }, ms)
      const check = () => {
        while (this.items.length) {
          const it = this.items.shift()
          if (it.ev === ev) {
            clearTimeout(timer)
            this.waiter = null
            resolve(it)
            return
          }
        }
      }
      this.waiter = check
      check()
    })
  }
}

// The data the scenarios send; interop_test.go expects the same.
const TEXTS = [
  'hello',
  'héllo wörld — 你好, 🎉 ñ',
  'ü€😀'.repeat(40) // 360 bytes: a 16-bit length
]
const SIZES = [0, 125, 126, 64 << 10, 1 << 20, 4 << 20]

// run runs scenarios[argv[2]] with the rest of argv, prints {"ev":"done"} when it resolved, and
// fails loudly when it threw or when the process does not end by itself soon after.
function run (scenarios) {
  const [name, ...args] = process.argv.slice(2)
  const fn = scenarios[name]
  if (!fn) {
    out({ ev: 'fatal', message: 'unknown scenario ' + name })
    process.exit(2)
  }
  fn(...args).then(() => {
    out({ ev: 'done' })
    setTimeout(() => {
      out({ ev: 'fatal', message: 'still running 5 s after the scenario ended (a socket left open?)' })
      process.exit(3)
    }, 5000).unref()
  }, err => {
    out({ ev: 'fatal', message: String((err && err.stack) || err) })
    process.exit(1)
  })
}

// TLS for the wss:// runs (interop_tls_test.go), chosen by the environment: a client trusts the
// certificate authority in the PEM file INTEROP_TLS_CA (given as tls.connect's ca); a server
// speaks TLS with the PEM files INTEROP_TLS_CERT and INTEROP_TLS_KEY. Unset, nothing changes.
function tlsClientOptions () {
  const ca = process.env.INTEROP_TLS_CA
  return ca ? { ca: fs.readFileSync(ca) } : {}
}

function tlsServerOptions () {
  const cert = process.env.INTEROP_TLS_CERT
  if (!cert) return null
  return { cert: fs.readFileSync(cert), key: fs.readFileSync(process.env.INTEROP_TLS_KEY) }
}

module.exports = { pattern, sha256, out, Queue, TEXTS, SIZES, run, tlsClientOptions, tlsServerOptions }
