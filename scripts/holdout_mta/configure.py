"""Write the private configurations (Dovecot, Exim, Postfix maps, OpenSMTPD) under WORK.

Run: python3 configure.py WORK   (WORK e.g. /tmp/holdout_mta; run.sh does this)
"""

from __future__ import annotations

import sys
from pathlib import Path

from cases import HOSTNAME, LDA_USER, LMTP_PORT, LMTP_USERS, LOCAL_DOMAIN, PORT, ROUTES

work = Path(sys.argv[1])
home = work / "home"
dov = work / "dovecot"
for d in (dov, work / "exim", work / "postfix", work / "smtpd"):
    d.mkdir(parents=True, exist_ok=True)
lda = f"/usr/lib/dovecot/dovecot-lda -c {dov}/dovecot.conf -e"
smtp_routes = {
    d: r.split(":", 1)[1] for d, r in ROUTES.items() if r.startswith("smtp:")
}
lmtp_domains = [d for d, r in ROUTES.items() if r == "lmtp"]

(dov / "dovecot.conf").write_text(f"""\
base_dir = {dov}/run
state_dir = {dov}/run/state
log_path = {dov}/dovecot.log
protocols = lmtp
listen = 127.0.0.1
ssl = no
hostname = mx3.hartwell-trading.test
postmaster_address = postmaster@{LOCAL_DOMAIN}
mail_location = maildir:~/Maildir
mail_plugins = quota
passdb {{
  driver = passwd-file
  args = {dov}/users
}}
userdb {{
  driver = passwd-file
  args = {dov}/users
}}
plugin {{
  quota = maildir:User quota
  quota_rule = *:storage=100B
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {LMTP_PORT}
  }}
}}
service auth {{
  unix_listener auth-userdb {{
    mode = 0666
  }}
}}
protocol lmtp {{
  mail_plugins = quota
  lmtp_rcpt_check_quota = no
}}
auth_username_format = %Lu
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""")
users = [
    f"{a}::@UID@:@GID@::{dov}/mail/{a.split('@')[0]}::userdb_quota_rule=*:storage={'100B' if q == '1K' else q}"
    for a, q in LMTP_USERS.items()
]
users.append(
    f"{LDA_USER}::@UID@:@GID@::{home}/{LDA_USER}::userdb_quota_rule=*:storage=100B"
)
(dov / "users.in").write_text("\n".join(users) + "\n")

(work / "exim" / "routes").write_text(
    "".join(f"{d}: {ip}\n" for d, ip in smtp_routes.items())
)
(work / "exim" / "exim4.conf").write_text(f"""\
# holdout_mta: a private Exim configuration for provoking delivery failures
primary_hostname = {HOSTNAME}
qualify_domain = {LOCAL_DOMAIN}
domainlist local_domains = {LOCAL_DOMAIN} : {HOSTNAME}
exim_user = Debian-exim
exim_group = Debian-exim
never_users = root
spool_directory = /var/spool/exim4
log_file_path = /var/log/exim4/%slog
message_size_limit = 60k
delay_warning = 1m
ignore_bounce_errors_after = 2d
timeout_frozen_after = 7d
bounce_return_size_limit = 100k

begin routers

manual_routes:
  driver = manualroute
  domains = lsearch;{work}/exim/routes
  route_data = ${{lookup{{$domain}}lsearch{{{work}/exim/routes}}}}
  transport = remote_smtp
  no_more

lmtp_route:
  driver = accept
  domains = {" : ".join(lmtp_domains)}
  transport = dovecot_lmtp
  no_more

dnslookup:
  driver = dnslookup
  domains = ! +local_domains
  transport = remote_smtp
  ignore_target_hosts = 0.0.0.0 : 127.0.0.0/8
  no_more

lda_user:
  driver = accept
  domains = +local_domains
  local_parts = {LDA_USER}
  transport = dovecot_lda

local_user:
  driver = accept
  domains = +local_domains
  check_local_user
  transport = maildir_home

begin transports

remote_smtp:
  driver = smtp
  port = {PORT}
  connect_timeout = 10s
  command_timeout = 15s

dovecot_lmtp:
  driver = smtp
  protocol = lmtp
  hosts = 127.0.0.1
  hosts_override
  allow_localhost
  port = {LMTP_PORT}

dovecot_lda:
  driver = pipe
  command = {lda} -d {LDA_USER}
  user = {LDA_USER}
  return_fail_output
  log_output

maildir_home:
  driver = appendfile
  directory = $home/Maildir
  maildir_format
  delivery_date_add
  envelope_to_add
  return_path_add

begin retry
*   *   F,3m,20s

begin rewrite

begin authenticators
""")

(work / "postfix" / "transport").write_text(
    "".join(f"{d} smtp:[{ip}]:{PORT}\n" for d, ip in smtp_routes.items())
    + "".join(f"{d} lmtp:inet:127.0.0.1:{LMTP_PORT}\n" for d in lmtp_domains)
)
(work / "postfix" / "mailbox_commands").write_text(f"{LDA_USER} {lda} -d {LDA_USER}\n")

actions = {ip: f"r{ip.rsplit('.', 1)[1]}" for ip in sorted(set(smtp_routes.values()))}
lines = [
    "# holdout_mta: a private OpenSMTPD configuration for provoking delivery failures",
    "queue ttl 3m",
    "bounce warn-interval 1m",
    "smtp max-message-size 60K",
    "",
    "listen on lo port 10025",
    "",
    'action "maildir" maildir "~/Maildir"',
    f'action "lda" mda "{lda} -d %{{user.username}}"',
    f'action "lmtp" relay host lmtp://127.0.0.1:{LMTP_PORT}',
    *[f'action "{a}" relay host smtp://{ip}:{PORT}' for ip, a in actions.items()],
    'action "dns" relay',
    "",
    f'match from local for rcpt-to "{LDA_USER}@{LOCAL_DOMAIN}" action "lda"',
    f'match from local for domain "{LOCAL_DOMAIN}" action "maildir"',
    *[f'match from local for domain "{d}" action "lmtp"' for d in lmtp_domains],
    *[
        f'match from local for domain "{d}" action "{actions[ip]}"'
        for d, ip in smtp_routes.items()
    ],
    'match from local for any action "dns"',
]
(work / "smtpd" / "smtpd.conf").write_text("\n".join(lines) + "\n")
print("configured", work)
