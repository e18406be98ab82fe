"""A loopback stand-in SMTP server for nullmailer's relay (127.0.0.1:2527).

Refuses each case's recipient with a fixed reply at RCPT TO or after DATA, takes any
other mail (nullmailer's own notices to the sender) and writes each message it takes
to OUTDIR/NNN.eml, dot-unstuffed, as received.

Run: python3 stand_in.py OUTDIR
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

OUT = Path(sys.argv[1])
COUNT = [0]
# recipient -> (step, reply)
REPLIES = {
    "m.okafor@northfield-supply.test": (
        "rcpt",
        "550 5.1.1 <m.okafor@northfield-supply.test>: Recipient address rejected: "
        "User unknown in virtual mailbox table",
    ),
    "lena.brandt@kestrel-media.test": ("rcpt", "552 5.2.2 Mailbox full"),
    "p.iversen@halden-works.test": (
        "data",
        "550 5.7.1 Message rejected as spam by Content Filtering.",
    ),
    "t.nakamura@corvid-freight.test": (
        "rcpt",
        "450 4.2.0 Greylisted, please try again later",
    ),
}


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    def send(line: str) -> None:
        writer.write((line + "\r\n").encode())

    send("220 mx1.northfield-supply.test ESMTP ready")
    rcpts: list[str] = []
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = line.decode(errors="replace").strip()
        up = cmd.upper()
        if up.startswith(("EHLO", "HELO")):
            send("250-mx1.northfield-supply.test")
            send("250 8BITMIME")
        elif up.startswith("MAIL"):
            rcpts = []
            send("250 2.1.0 Ok")
        elif up.startswith("RCPT"):
            addr = cmd.split(":", 1)[1].strip().strip("<>").split(">")[0].lower()
            step, reply = REPLIES.get(addr, ("", ""))
            if step == "rcpt":
                send(reply)
            else:
                rcpts.append(addr)
                send("250 2.1.5 Ok")
        elif up == "DATA":
            if not rcpts:
                send("554 5.5.1 Error: no valid recipients")
                continue
            send("354 End data with <CR><LF>.<CR><LF>")
            data = bytearray()
            while True:
                chunk = await reader.readline()
                if chunk in (b".\r\n", b".\n") or not chunk:
                    break
                data += chunk[1:] if chunk.startswith(b".") else chunk
            refused = [
                REPLIES[a][1] for a in rcpts if REPLIES.get(a, ("",))[0] == "data"
            ]
            if refused:
                send(refused[0])
                continue
            COUNT[0] += 1
            (OUT / f"{COUNT[0]:03d}.eml").write_bytes(bytes(data))
            send("250 2.0.0 Ok: queued")
        elif up == "QUIT":
            send("221 2.0.0 Bye")
            break
        else:
            send("250 2.0.0 Ok")
        await writer.drain()
    await writer.drain()
    writer.close()


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    server = await asyncio.start_server(serve, "127.0.0.1", 2527)
    async with server:
        await server.serve_forever()


asyncio.run(main())
