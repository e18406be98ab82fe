"""Write the private configurations (Dovecot, Exim, Postfix maps, OpenSMTPD, sendmail, Courier)
under WORK.

Run: python3 configure.py WORK   (WORK e.g. /tmp/holdout_mta; run.sh does this)
"""

from __future__ import annotations

import sys
from pathlib import Path

from cases import HOSTNAME, LDA_USER, LMTP_PORT, LMTP_USERS, LOCAL_DOMAIN, PORT, ROUTES

work = Path(sys.argv[1])
home = work / "home"
dov = work / "dovecot"
for d in (
    dov,
    work / "exim",
    work / "postfix",
    work / "smtpd",
    work / "sendmail",
    work / "courier",
):
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

# sendmail: a .mc built into sendmail.cf by run.sh (m4 with sendmail-cf's macros).  No
# daemon listens (sendmail is run as a queue runner only, -q20s); mail is submitted with
# -Am (straight to the MTA, no submission agent); run.sh copies aliases, mailertable and
# deliver to /etc/mail/holdout/.  Local mail goes to a small Maildir
# writer, smoreau's through dovecot-lda -e; LMTP domains through a TCP LMTP mailer.
sm = work / "sendmail"
etc = "/etc/mail/holdout"  # run.sh copies the files there: sendmail refuses maps under /tmp
(sm / "deliver").write_text(f"""\
#!/bin/sh
# holdout_mta: sendmail's local mailer: the user's ~/Maildir/new, {LDA_USER} via dovecot-lda
u="$1"
[ "$u" = {LDA_USER} ] && exec {lda} -d {LDA_USER}
h=$(getent passwd "$u") || exit 67
h=$(echo "$h" | cut -d: -f6)
f="$(date +%s).$$.{HOSTNAME}"
umask 077
mkdir -p "$h/Maildir/tmp" "$h/Maildir/new" "$h/Maildir/cur"
cat >"$h/Maildir/tmp/$f" && mv "$h/Maildir/tmp/$f" "$h/Maildir/new/$f" || exit 75
chown -R "$u" "$h/Maildir"
""")
(sm / "deliver").chmod(0o755)
# sendmail sleeps 60 s on every start when the machine's host name has no dot and does not
# resolve to one ("My unqualified host name ... unknown; sleeping for retry"): run it in a
# UTS namespace of its own whose host name is the MTA's
(sm / "sm").write_text(f"""\
#!/bin/sh
exec unshare -u sh -c 'hostname {HOSTNAME} && exec /usr/sbin/sendmail "$@"' sendmail "$@"
""")
(sm / "sm").chmod(0o755)
(sm / "mailertable").write_text(
    "".join(f"{d}\tesmtp:[{ip}]\n" for d, ip in smtp_routes.items())
    + "".join(f"{d}\tlmtp{LMTP_PORT}:[127.0.0.1]\n" for d in lmtp_domains)
)
(sm / "aliases").write_text(
    "postmaster: /dev/null\nMAILER-DAEMON: postmaster\nroot: postmaster\n"
)
(sm / "holdout.mc").write_text(f"""\
divert(-1)
# holdout_mta: a private sendmail configuration for provoking delivery failures
divert(0)dnl
include(`/usr/share/sendmail/cf/m4/cf.m4')dnl
VERSIONID(`holdout_mta')dnl
OSTYPE(`debian')dnl
DOMAIN(`debian-mta')dnl
define(`confDOMAIN_NAME', `{HOSTNAME}')dnl
define(`ALIAS_FILE', `{etc}/aliases')dnl
undefine(`confHOST_STATUS_DIRECTORY')dnl
define(`confTO_QUEUEWARN', `1m')dnl
define(`confTO_QUEUERETURN', `4m')dnl
define(`confTO_CONNECT', `10s')dnl
define(`confTO_ICONNECT', `10s')dnl
define(`confTO_INITIAL', `15s')dnl
define(`confMIN_QUEUE_AGE', `0')dnl
define(`confMAX_MESSAGE_SIZE', `61440')dnl
define(`SMTP_MAILER_ARGS', `TCP $h {PORT}')dnl
define(`ESMTP_MAILER_ARGS', `TCP $h {PORT}')dnl
define(`LOCAL_MAILER_PATH', `{etc}/deliver')dnl
define(`LOCAL_MAILER_ARGS', `deliver $u')dnl
FEATURE(`nocanonify')dnl
FEATURE(`no_default_msa')dnl
FEATURE(`mailertable', `hash {etc}/mailertable')dnl
LOCAL_DOMAIN(`{LOCAL_DOMAIN}')dnl
MAILER(`local')dnl
MAILER(`smtp')dnl
MAILER_DEFINITIONS
Mlmtp{LMTP_PORT}, P=[IPC], F=mDFMuXz, S=EnvFromSMTP/HdrFromSMTP, R=EnvToSMTP, E=\\r\\n, L=990,
\tT=DNS/RFC822/SMTP, A=TCP $h {LMTP_PORT}
""")

# Courier: control files that run.sh copies into /etc/courier (the package's own directory,
# purged afterwards).  Courier has no LMTP client: the LMTP cases are left out for it.
# smoreau's local delivery is dovecot-lda, through the .courier file of its home.
cour = work / "courier"
control = {
    "me": HOSTNAME,
    "defaultdomain": LOCAL_DOMAIN,
    "locals": f"localhost\n{LOCAL_DOMAIN}\n{HOSTNAME}",
    "esmtproutes": "\n".join(f"{d}: [{ip}],{PORT}" for d, ip in smtp_routes.items()),
    "queuetime": "4m",
    "warntime": "1m",
    "retryalpha": "20s",
    "retrybeta": "3",
    "retrygamma": "20s",
    "retrymaxdelta": "1",
    "esmtpdelay": "0",
    "esmtptimeoutconnect": "10",
    "esmtptimeouthelo": "15",
    "sizelimit": "61440",
}
for name, text in control.items():
    (cour / name).write_text(text + "\n")
(cour / "dot-courier-lda").write_text(f"| {lda} -d {LDA_USER}\n")

# dma: dma.conf.in, whose @SMARTHOST@ line run.sh fills in before each message
(work / "dma").mkdir(exist_ok=True)
(work / "dma" / "dma.conf.in").write_text(f"""\
# holdout_mta: a private dma configuration for provoking delivery failures
@SMARTHOST@
PORT {PORT}
ALIASES /etc/dma/holdout-aliases
SPOOLDIR /var/spool/dma
MAILNAME {LOCAL_DOMAIN}
""")
(work / "dma" / "aliases").write_text("postmaster: root\n")

print("configured", work)
