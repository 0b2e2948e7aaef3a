// An echo server on Node's ws for wsconform's self-check: every message is sent back with its
// type, with permessage-deflate enabled (ws's defaults) for sections 12 and 13.
// Usage: node ws_echo_server.js NODE_MODULES_DIR [CERT_FILE KEY_FILE]; with the PEM files it
// serves wss://. It prints "listening on HOST:PORT" when ready and exits when its standard input
// closes.
'use strict';
const fs = require('fs');
const https = require('https');
const path = require('path');
const { WebSocketServer } = require(path.join(process.argv[2], 'ws'));

const options = { perMessageDeflate: true, maxPayload: 64 << 20 };
let listening;
if (process.argv[4]) {
  const server = https.createServer({ cert: fs.readFileSync(process.argv[3]), key: fs.readFileSync(process.argv[4]) });
  options.server = server;
  listening = (cb) => server.listen(0, '127.0.0.1', () => cb(server.address().port));
} else {
  options.host = '127.0.0.1';
  options.port = 0;
}
const wss = new WebSocketServer(options);
const ready = (port) => console.log('listening on 127.0.0.1:' + port);
if (listening) listening(ready);
else wss.on('listening', () => ready(wss.address().port));
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
