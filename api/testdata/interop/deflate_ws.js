'use strict'
// Node's ws with permessage-deflate, for deflate_test.go. Every event is one JSON line on stdout.
//   node deflate_ws.js client URL   connects, sends the message as text then binary, prints what
//                                   comes back (the server echoes), and closes with 1000;
//   node deflate_ws.js server       listens on a free port (printed), echoes every message, and
//                                   exits once stdin ends.
// Both compress every message (threshold 0) and print the negotiated extension.
const WebSocket = require('ws')

const message = JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ id: i, name: 'user' + i, online: i % 2 === 0 })))

function out (ev) { process.stdout.write(JSON.stringify(ev) + '\n') }

if (process.argv[2] === 'client') {
  const ws = new WebSocket(process.argv[3], { perMessageDeflate: { threshold: 0 } })
  let n = 0
  ws.on('open', () => {
    out({ ev: 'open', extensions: ws.extensions })
    ws.send(message)
    ws.send(Buffer.from(message), { binary: true })
  })
  ws.on('message', (data, isBinary) => {
    out({ ev: isBinary ? 'binary' : 'text', len: data.length, same: data.toString() === message })
    if (++n === 2) ws.close(1000, 'done')
  })
  ws.on('close', (code) => out({ ev: 'close', code }))
  ws.on('error', (err) => { out({ ev: 'error', message: err.message }); process.exitCode = 1 })
} else {
  const wss = new WebSocket.Server({ host: '127.0.0.1', port: 0, perMessageDeflate: { threshold: 0 } })
  wss.on('listening', () => out({ ev: 'port', port: wss.address().port }))
  wss.on('connection', (ws) => {
    out({ ev: 'connection', extensions: ws.extensions })
    ws.on('message', (data, isBinary) => {
      out({ ev: isBinary ? 'binary' : 'text', len: data.length, same: data.toString() === message })
      ws.send(data, { binary: isBinary })
    })
    ws.on('close', (code) => out({ ev: 'close', code }))
  })
  process.stdin.on('end', () => { wss.close(); process.exit(0) })
  process.stdin.resume()
}
