'use strict'
// Interop server on Node's ws (8.x), the peer of our client: node ws_server.js [PROTOCOLS] (see
// interop_client_test.go). PROTOCOLS is a comma-separated list the server supports: handleProtocols
// picks the first protocol of the client's list found there, none when nothing matches. With
// INTEROP_TLS_CERT and INTEROP_TLS_KEY set (common.js) it is an https server (wss://), and prints
// {"ev":"tls-error","message":CODE} for a connection whose TLS handshake failed.
//
// It prints {"ev":"listening","port":N} once listening, then one JSON line per event it sees, in
// order. It runs until its stdin ends, then waits for every connection to be gone, prints
// {"ev":"done"} and exits.
//
// Per connection it echoes texts and binaries, and obeys the texts
//   cmd:ping:HEX           ping with those bytes
//   cmd:fragments          a text and a binary message sent in fragments (send with fin: false),
//                          the binary with a ping between its fragments
//   cmd:close:CODE:REASON  close with CODE and REASON (no code when CODE is empty)
// The path /close4002 is closed at once with 4002 'go away', /close-nocode with no code; the
// handshake of /reject is refused with 401 by verifyClient; /headers prints the request headers.

const http = require('http')
const https = require('https')
const WebSocket = require('ws')
const { pattern, sha256, out, tlsServerOptions } = require('./common')

const valid = (process.argv[2] || '').split(',').filter(Boolean)

// FRAGMENTED_TEXT is cut inside '€' (bytes 12-14) and '😀' (bytes 20-23), with an empty fragment;
// FRAGMENTED_BINARY has six fragments, two of them empty (the Go test expects the same).
const FRAGMENTED_TEXT = Buffer.from('fragmented: € and 😀 end')
const FRAGMENTED_TEXT_ENDS = [13, 13, 22, 28]
const FRAGMENTED_BINARY = pattern(300000, 7)
const FRAGMENTED_BINARY_ENDS = [1, 1, 1000, 70000, 70000, 300000]

// open counts what must end before the process may: TCP sockets and WebSocket objects (ws emits
// 'close' a little after the socket closed).
let open = 0
const opened = () => { open++ }
const ended = () => { open-- }

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

// headerLines is the request's header lines as received, the key masked when it is well-formed.
function headerLines (raw) {
  const lines = []
  for (let i = 0; i < raw.length; i += 2) {
    let v = raw[i + 1]
    if (raw[i].toLowerCase() === 'sec-websocket-key' && /^[A-Za-z0-9+/]{22}==$/.test(v)) v = '(key)'
    lines.push(raw[i] + ': ' + v)
  }
  return lines.join('\n')
}

const notFound = (req, res) => { res.writeHead(404); res.end() }
const tls = tlsServerOptions()
const server = tls ? https.createServer(tls, notFound) : http.createServer(notFound)
server.on('tlsClientError', err => out({ ev: 'tls-error', message: err.code || err.message }))
server.on('connection', socket => {
  opened()
  socket.on('close', ended)
})

const wss = new WebSocket.WebSocketServer({
  server,
  handleProtocols (protocols) {
    for (const p of protocols) if (valid.includes(p)) return p
    return false
  },
  verifyClient (info, cb) {
    if (info.req.url === '/reject') {
      out({ ev: 'rejected', path: info.req.url })
      cb(false, 401)
      return
    }
    cb(true)
  }
})

wss.on('connection', (ws, req) => {
  opened()
  const path = req.url
  out({ ev: 'connection', path, protocol: ws.protocol, protocols: req.headers['sec-websocket-protocol'] || '' })
  if (path === '/headers') out({ ev: 'headers', headers: headerLines(req.rawHeaders) })
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      out({ ev: 'binary', len: data.length, sha256: sha256(data) })
      ws.send(data)
      return
    }
    const text = data.toString('utf8')
    out({ ev: 'text', text })
    if (!text.startsWith('cmd:')) {
      ws.send(text)
    } else if (text.startsWith('cmd:ping:')) {
      ws.ping(Buffer.from(text.slice('cmd:ping:'.length), 'hex'))
    } else if (text === 'cmd:fragments') {
      sendPieces(ws, FRAGMENTED_TEXT, FRAGMENTED_TEXT_ENDS, false)
      sendPieces(ws, FRAGMENTED_BINARY, FRAGMENTED_BINARY_ENDS, true,
        i => { if (i === 2) ws.ping('mid-message') })
    } else if (text.startsWith('cmd:close:')) {
      const [code, ...reason] = text.slice('cmd:close:'.length).split(':')
      if (code === '') ws.close()
      else ws.close(Number(code), reason.join(':'))
    } else {
      out({ ev: 'fatal', message: 'unknown command ' + text })
    }
  })
  ws.on('ping', data => out({ ev: 'ping', hex: data.toString('hex') }))
  ws.on('pong', data => out({ ev: 'pong', hex: data.toString('hex') }))
  ws.on('error', err => out({ ev: 'error', message: err.message }))
  ws.on('close', (code, reason) => {
    out({ ev: 'close', code, reason: reason.toString('utf8') })
    ended()
  })
  if (path === '/close4002') ws.close(4002, 'go away')
  if (path === '/close-nocode') ws.close()
})
wss.on('error', err => out({ ev: 'fatal', message: 'server error: ' + err.message }))

server.listen(0, '127.0.0.1', () => out({ ev: 'listening', port: server.address().port }))

// The end of stdin ends the run once every connection is gone.
process.stdin.on('end', () => {
  server.close()
  const deadline = Date.now() + 5000
  const check = () => {
    if (open === 0) {
      out({ ev: 'done' })
      process.exit(0)
    }
    if (Date.now() > deadline) {
      out({ ev: 'fatal', message: open + ' connection(s) still open 5 s after the end of stdin' })
      process.exit(3)
    }
    setTimeout(check, 10)
  }
  check()
})
process.stdin.resume()
