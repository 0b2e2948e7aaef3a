// An Autobahn testee client on Node's ws for wsconform's self-check of client mode.
// Usage: node ws_testee_client.js NODE_MODULES_DIR ws://HOST:PORT AGENT (or wss://, trusting any
// certificate: the test's own). It offers permessage-deflate (ws's default) for sections 12 and
// 13. It asks /getCaseCount, runs /runCase?case=N&agent=AGENT for every case, echoing each
// message with its type, then asks /updateReports?agent=AGENT and exits.
'use strict';
const path = require('path');
const WebSocket = require(path.join(process.argv[2], 'ws'));
const base = process.argv[3];
const agent = process.argv[4] || 'ws';

function open(url, onMessage) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { maxPayload: 64 << 20, rejectUnauthorized: false });
    ws.on('message', (data, isBinary) => {
      if (onMessage) onMessage(data);
      else ws.send(data, { binary: isBinary });
    });
    ws.on('error', () => {});
    ws.on('close', () => resolve());
  });
}

(async () => {
  let count = 0;
  await open(`${base}/getCaseCount`, (data) => { count = parseInt(data.toString(), 10); });
  for (let i = 1; i <= count; i++) {
    await open(`${base}/runCase?case=${i}&agent=${encodeURIComponent(agent)}`);
  }
  await open(`${base}/updateReports?agent=${encodeURIComponent(agent)}`);
  process.exit(0);
})();
