"""Write the private Haraka configuration of the holdout run under WORK/haraka/inst.

Run: python3 haraka/haraka_config.py WORK HARAKA_PACKAGE_DIR   (after `haraka -i WORK/haraka/inst`)
Haraka listens on 127.0.0.1:2587 only; routes.json sends each case's domain to its
stand-in server (port 2526) or to the private Dovecot's LMTP port, and the sending
domain's mail (the notices) to inbox.py on INBOX_IP.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from cases import HOSTNAME, LMTP_PORT, LOCAL_DOMAIN, PORT, ROUTES

INBOX_IP = "127.0.0.18"
SUBMIT = ("127.0.0.1", 2587)

work = Path(sys.argv[1])
inst = work / "haraka" / "inst"
config = inst / "config"
routes: dict[str, dict[str, object]] = {
    LOCAL_DOMAIN: {"exchange": INBOX_IP, "port": PORT},
}
for domain, route in ROUTES.items():
    if route.startswith("smtp:"):
        routes[domain] = {"exchange": route[5:], "port": PORT}
    elif route == "lmtp":
        routes[domain] = {
            "exchange": "127.0.0.1",
            "port": LMTP_PORT,
            "using_lmtp": True,
        }
(work / "haraka" / "routes.json").write_text(json.dumps(routes, indent=1) + "\n")
(config / "me").write_text(HOSTNAME + "\n")
(config / "host_list").write_text("")
(config / "plugins").write_text("holdout_route\n")
(config / "smtp.ini").write_text(f"listen={SUBMIT[0]}:{SUBMIT[1]}\nnodes=0\n")
(config / "outbound.ini").write_text(
    "enable_tls=false\nlocal_mx_ok=true\nconnect_timeout=10\n"
    # about four minutes of retries, as the other MTAs' queue lifetimes
    "temp_fail_intervals=30s*8\n"
)
(config / "log.ini").write_text("[main]\nlevel=info\ntimestamps=true\n")
shutil.copy(Path(__file__).resolve().parent / "holdout_route.js", inst / "plugins")
# `haraka -i` copies four files; without the bounce templates Haraka's notices have no
# From, To or Subject and an empty text part. The templates Haraka ships are copied
# unchanged, as an operator following its Outbound documentation would.
shipped = Path(sys.argv[2]) / "config"
for name in ("bounce_message", "bounce_message_html", "bounce_message_image"):
    shutil.copy(shipped / f"outbound.{name}", config)
print("haraka configured under", inst)
