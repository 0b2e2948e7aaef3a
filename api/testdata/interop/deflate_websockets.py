"""Python's websockets with its default compression (permessage-deflate), for
interop_python_test.go. Every event is one JSON line on stdout.

  deflate_websockets.py client URL   connects, sends the message as text then
                                     binary, then the short message as text,
                                     prints each echo, and closes with 1000;
  deflate_websockets.py server       listens on a free loopback port (printed),
                                     echoes every message, and exits once stdin
                                     ends.

Both print the negotiated extensions. Every wait is bounded by TIMEOUT seconds.
"""

import asyncio
import json
import sys

import websockets

TIMEOUT = 10

# MESSAGE is deflateMessage in deflate_test.go: 200 JSON records, about 8 KiB;
# SHORT is its first 100 bytes, below the threshold of the Go side.
MESSAGE = json.dumps(
    [{"id": i, "name": "user%d" % i, "online": i % 2 == 0} for i in range(200)],
    separators=(",", ":"),
)
SHORT = MESSAGE[:100]
SENT = [MESSAGE, MESSAGE.encode(), SHORT]


def out(**ev):
    sys.stdout.write(json.dumps(ev) + "\n")
    sys.stdout.flush()


def extensions(ws):
    return "; ".join(ext.name for ext in ws.extensions)


def message(data, expected):
    """Prints a received message: its kind, length, and whether it is one of expected."""
    kind = "text" if isinstance(data, str) else "binary"
    out(ev=kind, len=len(data), same=data in expected)


async def client(url):
    async with websockets.connect(
        url, compression="deflate", open_timeout=TIMEOUT, close_timeout=TIMEOUT
    ) as ws:
        out(ev="open", extensions=extensions(ws))
        for m in SENT:
            await ws.send(m)
        for m in SENT:
            message(await asyncio.wait_for(ws.recv(), TIMEOUT), (m,))
        await ws.close(1000, "done")
    out(ev="close", code=ws.close_code)


async def echo(ws):
    out(ev="connection", extensions=extensions(ws))
    try:
        async for data in ws:
            message(data, SENT)
            await ws.send(data)
    finally:
        out(ev="close", code=ws.close_code)


async def server():
    async with websockets.serve(
        echo, "127.0.0.1", 0, compression="deflate", close_timeout=TIMEOUT
    ) as srv:
        out(ev="port", port=srv.sockets[0].getsockname()[1])
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.buffer.read)


if __name__ == "__main__":
    if sys.argv[1] == "client":
        asyncio.run(asyncio.wait_for(client(sys.argv[2]), 3 * TIMEOUT))
    else:
        asyncio.run(server())
