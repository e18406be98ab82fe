"""Stand-in remote SMTP servers giving fixed replies (see cases.SERVERS and REPLIES).

Run: python3 remote.py   (listens on port 2526 of 127.0.0.10-13, .15 and .17; loopback only)
  main    per-recipient replies at RCPT or after DATA, by cases.REPLIES
  sender  refuses the envelope sender at MAIL FROM
  block   554 in its greeting (a block list), then closes
  busy    421 in its greeting (too many connections), then closes
  size    advertises SIZE 20000 and refuses a larger declared size
  silent  accepts the connection and never says anything
Nothing listens on cases.REFUSED_IP (connection refused).
"""

from __future__ import annotations

import asyncio

from cases import PORT, REPLIES, SERVERS


async def serve(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, mode: str, host: str
) -> None:
    def send(line: str) -> None:
        writer.write((line + "\r\n").encode())

    if mode == "silent":
        await reader.read()  # until the client gives up
        writer.close()
        return
    if mode == "block":
        send(
            "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.example.org"
        )
        await writer.drain()
        writer.close()
        return
    if mode == "busy":
        send(
            f"421 4.7.0 {host} Too many concurrent SMTP connections; please try again later"
        )
        await writer.drain()
        writer.close()
        return
    send(f"220 {host} ESMTP ready")
    rcpts: list[str] = []
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = line.decode(errors="replace").strip()
        up = cmd.upper()
        if up.startswith("EHLO"):
            send(f"250-{host}")
            if mode == "size":
                send("250-SIZE 20000")
            send("250 8BITMIME")
        elif up.startswith("HELO"):
            send(f"250 {host}")
        elif up.startswith("MAIL"):
            rcpts = []
            if mode == "sender":
                addr = cmd.split(":", 1)[1].split()[0].strip("<>")
                send(
                    f"553 5.7.1 <{addr}>: Sender address rejected: not owned by authenticated user"
                )
            elif (
                mode == "size"
                and "SIZE=" in up
                and int(up.split("SIZE=")[1].split()[0]) > 20000
            ):
                send("552 5.3.4 Message size exceeds fixed limit")
            else:
                send("250 2.1.0 Ok")
        elif up.startswith("RCPT"):
            addr = cmd.split(":", 1)[1].split()[0].strip("<>")
            step, reply = (
                REPLIES.get(addr.lower(), ("", "")) if mode == "main" else ("", "")
            )
            if step == "rcpt":
                send(reply.format(a=addr))
            else:
                rcpts.append(addr)
                send("250 2.1.5 Ok")
        elif up == "DATA":
            if not rcpts:
                send("554 5.5.1 Error: no valid recipients")
                await writer.drain()
                continue
            send("354 End data with <CR><LF>.<CR><LF>")
            await writer.drain()
            while True:
                data = await reader.readline()
                if not data or data in (b".\r\n", b".\n"):
                    break
            answer = "250 2.0.0 Ok: queued as 4F2A1C0D9E"
            for addr in rcpts:
                step, reply = REPLIES.get(addr.lower(), ("", ""))
                if step == "data":
                    answer = reply.format(a=addr)
            send(answer)
        elif up in ("RSET", "NOOP"):
            rcpts = [] if up == "RSET" else rcpts
            send("250 2.0.0 Ok")
        elif up == "QUIT":
            send("221 2.0.0 Bye")
            await writer.drain()
            break
        else:
            send("502 5.5.2 Error: command not recognized")
        await writer.drain()
    writer.close()


async def main() -> None:
    servers = []
    for ip, (mode, host) in SERVERS.items():
        servers.append(
            await asyncio.start_server(
                lambda r, w, m=mode, h=host: serve(r, w, m, h), ip, PORT
            )
        )
    print("listening", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main())
