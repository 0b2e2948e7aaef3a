'use strict'
// Interop client on nodejs-websocket 1.7.2: node nws_client.js SCENARIO ARGS... (see
// interop_test.go). Every event of every connection is printed as a JSON line, in wire order; the
// frames the client parses are watched by wrapping each connection's processFrame, so the close
// frame that answers ours and the fragments of a binary message are seen too. For wss:// URLs it
// trusts the certificate authority in INTEROP_TLS_CA (common.js; nws gives options to tls.connect).

const nws = require('nodejs-websocket')
const { pattern, sha256, out, Queue, TEXTS, SIZES, run, tlsClientOptions } = require('./common')

nws.setMaxBufferLength(16 << 20) // the 4 MiB echo arrives in one frame

function connect (url, options) {
  const q = new Queue()
  // Events are printed in wire order. A binary message's InStream ends a tick after its final
  // frame was parsed, when a text parsed from the same read has already been emitted; so the final
  // frame reserves the message's place and later events wait for the InStream to fill it.
  const slots = []
  const reserve = () => { const slot = { ev: null }; slots.push(slot); return slot }
  const fill = (slot, ev) => {
    slot.ev = ev
    while (slots.length && slots[0].ev) {
      const e = slots.shift().ev
      out(e)
      q.push(e)
    }
  }
  const emit = ev => fill(reserve(), ev)
  const conn = nws.connect(url, Object.assign(tlsClientOptions(), options))
  // The binary message being received: its frames ("op/length", F for fin), control frames between
  // its fragments included, and the place of its event.
  let msg = null
  const processFrame = conn.processFrame
  conn.processFrame = function (fin, opcode, payload) {
    if (opcode === 8) emit({ ev: 'close-frame', hex: payload.toString('hex') })
    if (opcode === 2) msg = { frames: [], slot: null, done: false }
    if (msg && !msg.done && (opcode === 2 || opcode === 0 || opcode >= 8)) {
      msg.frames.push(opcode + '/' + payload.length + (fin && opcode < 8 ? 'F' : ''))
      if (fin && opcode < 8) {
        msg.done = true
        msg.slot = reserve()
      }
    }
    return processFrame.call(this, fin, opcode, payload)
  }
  conn.on('connect', () => emit({ ev: 'open', protocol: conn.protocol || '' }))
  conn.on('text', text => emit({ ev: 'text', text }))
  conn.on('binary', inStream => {
    const mine = msg
    const chunks = []
    inStream.on('data', d => chunks.push(d))
    inStream.on('end', () => {
      const b = Buffer.concat(chunks)
      const ev = { ev: 'binary', len: b.length, sha256: sha256(b), frames: mine.frames.join(' ') }
      if (mine.slot) fill(mine.slot, ev)
      else emit(ev) // cut off by the end of the connection
    })
  })
  conn.on('pong', data => emit({ ev: 'pong', hex: Buffer.from(data).toString('hex') }))
  conn.on('error', err => emit({ ev: 'error', message: err.message }))
  conn.on('close', (code, reason) => emit({ ev: 'close', code, reason }))
  conn.socket.on('close', () => emit({ ev: 'socket-close' }))
  return { conn, q }
}

run({
  // data URL: texts, binaries of every size, a streamed binary both ways, pings both ways, then a
  // close with 4001 'bye'.
  async data (url) {
    const { conn, q } = connect(url)
    await q.wait('open')
    for (const t of TEXTS) {
      conn.sendText(t)
      await q.wait('text')
    }
    for (const n of SIZES) {
      conn.sendBinary(pattern(n, n))
      await q.wait('binary')
    }
    // 80 writes of 750 bytes with a 1000-byte fragmentation: 40 fragments of 1500 bytes and an
    // empty final one.
    nws.setBinaryFragmentation(1000)
    const big = pattern(60000, 7)
    // A ping goes out half way, between two fragments: its pong comes before the echo.
    const stream = conn.beginBinary()
    for (let i = 0; i < big.length; i += 750) {
      stream.write(big.subarray(i, i + 750))
      if (i === 30000) conn.sendPing('mid-message')
    }
    stream.end()
    await q.wait('pong')
    await q.wait('binary')
    // The server's stream has a ping between its fragments; it reports our pong as a text.
    conn.sendText('cmd:stream')
    await q.wait('binary')
    await q.wait('text')
    // nws answers a ping with payload.toString(): only UTF-8 comes back intact.
    conn.sendText('cmd:ping:' + Buffer.from('srv ping ✓\u0000').toString('hex'))
    await q.wait('text') // the server's report of our pong
    for (const p of ['Knock knock', '', 'é'.repeat(62) + '!']) {
      conn.sendPing(p)
      await q.wait('pong')
    }
    conn.close(4001, 'bye')
    await q.wait('socket-close')
  },

  // handshake URL_WITH_PROTOCOLS URL_WITHOUT: subprotocol negotiation and extra headers.
  async handshake (withProtocols, withoutProtocols) {
    let c = connect(withProtocols + '/proto?q=1',
      { protocols: ['x', 'y', 'b', 'a'], extraHeaders: { 'X-HeaderName': 'header value' } })
    await c.q.wait('open')
    c.conn.close(1000, 'done')
    await c.q.wait('socket-close')
    c = connect(withProtocols + '/plain')
    await c.q.wait('open')
    c.conn.close()
    await c.q.wait('socket-close')
    c = connect(withoutProtocols + '/noproto', { protocols: ['x', 'y', 'b', 'a'] })
    await c.q.wait('socket-close')
  },

  // close URL: the server closes, with a code and a reason, without a code, and with a reason too
  // long for a close frame.
  async close (url) {
    for (const path of ['/close4002', '/close-nocode', '/close-long']) {
      const c = connect(url + path)
      await c.q.wait('socket-close')
    }
  }
})
