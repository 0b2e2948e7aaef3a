'use strict'
// Interop server on nodejs-websocket 1.7.2, the peer of our client: node nws_server.js [PROTOCOLS]
// (see interop_client_test.go). PROTOCOLS is a comma-separated list given as validProtocols (the
// first protocol of the client's list found there is picked); without it the server has none. With
// INTEROP_TLS_CERT and INTEROP_TLS_KEY set (common.js) it is a secure server (secure: true, wss://),
// and prints {"ev":"tls-error","message":CODE} for a connection whose TLS handshake failed.
//
// It prints {"ev":"listening","port":N} once listening, then one JSON line per event it sees, in
// order: the frames it parses are watched by wrapping each connection's processFrame, so the close
// frames and the fragments of a binary message (control frames between them included) show too.
// It runs until its stdin ends, then waits for every socket to close, prints {"ev":"done"} and
// exits.
//
// Per connection it echoes texts and binaries, and obeys the texts
//   cmd:ping:HEX           sendPing with those bytes
//   cmd:fragments          a 200000-byte binary sent with beginBinary() in 10000-byte writes with
//                          a 20000-byte fragmentation, and a ping after the fifth write
//   cmd:close:CODE:REASON  close with CODE and REASON (no code when CODE is empty)
// The path /close4002 is closed at once with 4002 'go away', /close-nocode with no code; /headers
// prints the request headers.

const nws = require('nodejs-websocket')
const { pattern, sha256, out, tlsServerOptions } = require('./common')

nws.setMaxBufferLength(16 << 20) // our 1 MiB and 4 MiB messages arrive in one frame each
nws.setBinaryFragmentation(20000)

const valid = (process.argv[2] || '').split(',').filter(Boolean)
const STREAM = pattern(200000, 99) // the Go test expects the same

let open = 0 // TCP sockets not closed yet

const tls = tlsServerOptions()
const options = Object.assign(tls ? { secure: true } : {}, tls, valid.length ? { validProtocols: valid } : {})
const server = nws.createServer(options, conn => {
  const path = conn.path
  out({ ev: 'connection', path, protocol: conn.protocol || '', protocols: conn.protocols.join(',') })
  if (path === '/headers') {
    const lines = Object.keys(conn.headers).map(k => {
      let v = conn.headers[k]
      if (k === 'sec-websocket-key' && /^[A-Za-z0-9+/]{22}==$/.test(v)) v = '(key)'
      return k + ': ' + v
    })
    out({ ev: 'headers', headers: lines.join('\n') })
  }

  // The frames of the binary message being received ("op/length", F for fin), control frames
  // between its fragments included; its 'binary' event fires inside the first frame's processing.
  let frames = null
  const processFrame = conn.processFrame
  conn.processFrame = function (fin, opcode, payload) {
    if (opcode === 8) out({ ev: 'close-frame', hex: payload.toString('hex') })
    if (opcode === 2) frames = []
    if (frames && (opcode === 2 || opcode === 0 || opcode >= 8)) {
      frames.push(opcode + '/' + payload.length + (fin && opcode < 8 ? 'F' : ''))
    }
    const ok = processFrame.call(this, fin, opcode, payload)
    if (fin && opcode < 8) frames = null
    return ok
  }

  conn.on('text', text => {
    out({ ev: 'text', text })
    if (!text.startsWith('cmd:')) {
      conn.sendText(text)
    } else if (text.startsWith('cmd:ping:')) {
      conn.sendPing(Buffer.from(text.slice('cmd:ping:'.length), 'hex'))
    } else if (text === 'cmd:fragments') {
      const stream = conn.beginBinary()
      for (let i = 0; i < STREAM.length; i += 10000) {
        stream.write(STREAM.subarray(i, i + 10000))
        if (i === 40000) conn.sendPing('mid-stream')
      }
      stream.end()
    } else if (text.startsWith('cmd:close:')) {
      const [code, ...reason] = text.slice('cmd:close:'.length).split(':')
      if (code === '') conn.close()
      else conn.close(Number(code), reason.join(':'))
    } else {
      out({ ev: 'fatal', message: 'unknown command ' + text })
    }
  })
  conn.on('binary', inStream => {
    const mine = frames
    const chunks = []
    inStream.on('data', d => chunks.push(d))
    inStream.on('end', () => {
      const b = Buffer.concat(chunks)
      out({ ev: 'binary', len: b.length, sha256: sha256(b), frames: mine.join(' ') })
      if (conn.readyState === conn.OPEN) conn.sendBinary(b)
    })
  })
  conn.on('pong', data => out({ ev: 'pong', hex: Buffer.from(data).toString('hex') }))
  conn.on('error', err => out({ ev: 'error', message: err.message }))
  conn.on('close', (code, reason) => out({ ev: 'close', code, reason }))
  conn.socket.on('close', () => out({ ev: 'socket-close' }))
  if (path === '/close4002') conn.close(4002, 'go away')
  if (path === '/close-nocode') conn.close()
})
server.socket.on('connection', socket => {
  open++
  socket.on('close', () => { open-- })
})
server.socket.on('tlsClientError', err => out({ ev: 'tls-error', message: err.code || err.message }))
server.on('error', err => out({ ev: 'fatal', message: 'server error: ' + err.message }))

server.listen(0, '127.0.0.1', () => out({ ev: 'listening', port: server.socket.address().port }))

// The end of stdin ends the run once every socket is closed.
process.stdin.on('end', () => {
  server.socket.close()
  const deadline = Date.now() + 5000
  const check = () => {
    if (open === 0) {
      out({ ev: 'done' })
      process.exit(0)
    }
    if (Date.now() > deadline) {
      out({ ev: 'fatal', message: open + ' socket(s) still open 5 s after the end of stdin' })
      process.exit(3)
    }
    setTimeout(check, 10)
  }
  check()
})
process.stdin.resume()
