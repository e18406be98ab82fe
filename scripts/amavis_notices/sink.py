"""A loopback SMTP sink for amavisd's notifications and passed mail.

Run: python3 sink.py OUTDIR   (listens on 127.0.0.1:10025; each message it takes is
written to OUTDIR/NNN.eml exactly as received, dot-unstuffed, CRLF kept)
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

OUT = Path(sys.argv[1])
COUNT = [0]


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    def send(line: str) -> None:
        writer.write((line + "\r\n").encode())

    send("220 sink.hartwell-trading.test ESMTP")
    envelope: list[str] = []
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = line.decode(errors="replace").strip()
        up = cmd.upper()
        if up.startswith(("EHLO", "LHLO")):
            send("250-sink.hartwell-trading.test")
            send("250 8BITMIME")
        elif up.startswith(("MAIL", "RCPT")):
            envelope.append(cmd)
            send("250 2.1.0 Ok")
        elif up == "DATA":
            send("354 go ahead")
            data = bytearray()
            while True:
                chunk = await reader.readline()
                if chunk in (b".\r\n", b".\n") or not chunk:
                    break
                data += chunk[1:] if chunk.startswith(b".") else chunk
            COUNT[0] += 1
            (OUT / f"{COUNT[0]:03d}.eml").write_bytes(bytes(data))
            (OUT / f"{COUNT[0]:03d}.envelope").write_text("\n".join(envelope) + "\n")
            envelope = []
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
    server = await asyncio.start_server(serve, "127.0.0.1", 10025)
    async with server:
        await server.serve_forever()


asyncio.run(main())
