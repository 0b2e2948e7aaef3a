'use strict'
// Interop client on Node's ws (8.x): node ws_client.js SCENARIO ARGS... (see interop_test.go).
// Every event of every connection is printed as a JSON line as it happens. For wss:// URLs it
// trusts the certificate authority in INTEROP_TLS_CA (common.js).

const WebSocket = require('ws')
const { pattern, sha256, out, Queue, TEXTS, SIZES, run, tlsClientOptions } = require('./common')

function connect (url, protocols, options) {
  const q = new Queue()
  const emit = ev => { out(ev); q.push(ev) }
  const ws = new WebSocket(url, protocols, Object.assign(tlsClientOptions(), options))
  ws.on('open', () => emit({ ev: 'open', protocol: ws.protocol, extensions: ws.extensions }))
  ws.on('message', (data, isBinary) => {
    if (isBinary) emit({ ev: 'binary', len: data.length, sha256: sha256(data) })
    else emit({ ev: 'text', text: data.toString('utf8') })
  })
  ws.on('ping', data => emit({ ev: 'ping', hex: data.toString('hex') }))
  ws.on('pong', data => emit({ ev: 'pong', hex: data.toString('hex') }))
  ws.on('error', err => emit({ ev: 'error', message: err.message }))
  ws.on('close', (code, reason) => emit({ ev: 'close', code, reason: reason.toString('utf8') }))
  return { ws, q }
}

// sendPieces sends buf as one message in fragments that end at the offsets in ends; between(i),
// if given, runs after fragment i was sent.
function sendPieces (ws, buf, ends, binary, between) {
  let start = 0
  ends.forEach((end, i) => {
    ws.send(buf.subarray(start, end), { binary, fin: i === ends.length - 1 })
    if (between) between(i)
    start = end
  })
}

run({
  // data URL: texts, binaries of every size, fragmented messages both ways, pings both ways,
  // then a close with 4001 'bye'.
  async data (url) {
    const { ws, q } = connect(url)
    await q.wait('open')
    for (const t of TEXTS) {
      ws.send(t)
      await q.wait('text')
    }
    for (const n of SIZES) {
      ws.send(pattern(n, n))
      await q.wait('binary')
    }
    // A text message cut inside '€' (bytes 12-14) and '😀' (bytes 20-23), with an empty fragment.
    sendPieces(ws, Buffer.from('fragmented: € and 😀 end'), [13, 13, 22, 28], false)
    await q.wait('text')
    // A binary message in six fragments, two of them empty, with a ping after the third: the
    // pong comes back before the message's echo.
    sendPieces(ws, pattern(300000, 7), [1, 1, 1000, 70000, 70000, 300000], true,
      i => { if (i === 2) ws.ping('mid-message') })
    await q.wait('pong')
    await q.wait('binary')
    // The server's stream has a ping between its fragments; it reports our pong as a text.
    ws.send('cmd:stream')
    await q.wait('binary')
    await q.wait('text')
    ws.send('cmd:ping:00ff80737276')
    await q.wait('text') // the server's report of our pong
    for (const p of [Buffer.from('deadbeef00ff', 'hex'), Buffer.alloc(0), pattern(125, 125)]) {
      ws.ping(p)
      await q.wait('pong')
    }
    ws.close(4001, 'bye')
    await q.wait('close')
  },

  // handshake URL_WITH_PROTOCOLS URL_WITHOUT: subprotocol negotiation and extra headers.
  async handshake (withProtocols, withoutProtocols) {
    let c = connect(withProtocols + '/proto?q=1', ['x', 'y', 'b', 'a'],
      { headers: { 'X-HeaderName': 'header value' } })
    await c.q.wait('open')
    c.ws.close(1000, 'done')
    await c.q.wait('close')
    c = connect(withProtocols + '/plain')
    await c.q.wait('open')
    c.ws.close()
    await c.q.wait('close')
    c = connect(withoutProtocols + '/noproto', ['x', 'y', 'b', 'a'])
    await c.q.wait('close')
  },

  // close URL: the server closes, with a code and a reason, without a code, and with a reason too
  // long for a close frame.
  async close (url) {
    for (const path of ['/close4002', '/close-nocode', '/close-long']) {
      const c = connect(url + path)
      await c.q.wait('close')
    }
  }
})
