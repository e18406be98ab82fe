"""The sending domain's mail server of the Haraka run: takes every message Haraka
delivers to the sending domain (its notices) and writes it, byte-exact after SMTP
dot-unstuffing, to MAILDIR/new.

Run: python3 haraka/inbox.py MAILDIR   (listens on INBOX_IP port 2526, loopback only)
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from cases import PORT

INBOX_IP = "127.0.0.18"
new = Path(sys.argv[1]) / "new"
count = 0


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    global count

    def send(line: str) -> None:
        writer.write((line + "\r\n").encode())

    send("220 mail.hartwell-trading.test ESMTP")
    while line := await reader.readline():
        up = line.decode(errors="replace").strip().upper()
        if up.startswith(("EHLO", "HELO")):
            send("250 mail.hartwell-trading.test")
        elif up.startswith(("MAIL", "RCPT", "RSET", "NOOP")):
            send("250 2.0.0 Ok")
        elif up == "DATA":
            send("354 go ahead")
            await writer.drain()
            body = bytearray()
            while (data := await reader.readline()) not in (b".\r\n", b""):
                body += data[1:] if data.startswith(b"..") else data
            count += 1
            name = f"{time.time():.6f}.{os.getpid()}_{count}.inbox"
            (new / name).write_bytes(bytes(body))
            send("250 2.0.0 Ok: stored")
        elif up == "QUIT":
            send("221 2.0.0 Bye")
            await writer.drain()
            break
        else:
            send("502 5.5.2 command not recognized")
        await writer.drain()
    writer.close()


async def main() -> None:
    new.mkdir(parents=True, exist_ok=True)
    server = await asyncio.start_server(serve, INBOX_IP, PORT)
    print("listening", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
