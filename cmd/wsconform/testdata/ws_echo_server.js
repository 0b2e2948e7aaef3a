// An echo server on Node's ws for wsconform's self-check: every message is sent back with its
// type. Usage: node ws_echo_server.js NODE_MODULES_DIR. It prints "listening on HOST:PORT" when
// ready and exits when its standard input closes.
'use strict';
const path = require('path');
const { WebSocketServer } = require(path.join(process.argv[2], 'ws'));

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: true, maxPayload: 64 << 20 });
wss.on('listening', () => console.log('listening on 127.0.0.1:' + wss.address().port));
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
