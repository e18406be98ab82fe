#!/bin/bash
# Regenerate the MTA-written holdout notices (tests/data/holdout-dev/mta/) on a Debian 12
# machine, as root.  NEVER run by the test suite: it installs and purges MTA packages.
#
#   bash scripts/holdout_mta/run.sh setup        # users, private Dovecot, stand-in servers
#   bash scripts/holdout_mta/run.sh postfix      # install, send, wait for the queue to empty,
#   bash scripts/holdout_mta/run.sh exim4        #   copy the notices to $WORK/out/<mta>/, purge
#   bash scripts/holdout_mta/run.sh opensmtpd
#   bash scripts/holdout_mta/run.sh sendmail
#   bash scripts/holdout_mta/run.sh courier
#   bash scripts/holdout_mta/run.sh dma          # permanent failures only (cases.DMA_SKIP)
#   bash scripts/holdout_mta/run.sh haraka       # Haraka from npm, notices to haraka/inbox.py
#   bash scripts/holdout_mta/run.sh teardown     # stop what setup started, remove the users
#
# Nothing listens on port 25 or 587: a policy-rc.d keeps the packages' services from
# starting, and each MTA is run by hand with a private configuration.  All traffic stays on
# loopback addresses, except the two cases without a route, which ask the machine's
# resolver.  Labels are then drafted with mklabels.py and checked by reading each notice.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${WORK:-/tmp/holdout_mta}
PY() { (cd "$HERE" && python3 "$@"); }
SENDER_USER=kdoyle
LDA_USER=smoreau
export DEBIAN_FRONTEND=noninteractive
HARAKA_VERSION=3.3.4

queue_wait() {  # $1: command printing the number of queued messages; $2: optional tick
  local n
  for _ in $(seq 1 60); do
    n=$(eval "$1" || echo 1)
    [ "$n" = 0 ] && return 0
    [ -n "${2:-}" ] && eval "$2" >/dev/null 2>&1 || true
    sleep 10
  done
  echo "queue not empty after 10 minutes" >&2
}

collect() {  # $1: mta name
  sleep 5
  PY collect.py "$WORK/out/$1" "$WORK/home/$SENDER_USER/Maildir/new"
  mkdir -p "$WORK/used/$1"
  mv "$WORK/home/$SENDER_USER/Maildir/new/"* "$WORK/used/$1/" 2>/dev/null || true
}

no_start() {
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    touch "$WORK/policy-rc.d.ours"
  fi
}
installed() { dpkg-query -W -f '${db:Status-Status} ${Package}\n' | awk '$1=="installed"{print $2}' | sort; }
install() {  # $1: log name, rest: packages; remembers what the install added
  installed >"$WORK/before-$1"
  apt-get install -y -q --no-install-recommends "${@:2}" >"$WORK/apt-$1.log" 2>&1
  installed | comm -13 "$WORK/before-$1" - >"$WORK/added-$1"
}
purge() {  # $1: log name: purge every package its install added
  xargs -r apt-get purge -y -q <"$WORK/added-$1" >"$WORK/apt-purge-$1.log" 2>&1
}

allow_start() { [ -e "$WORK/policy-rc.d.ours" ] && rm -f /usr/sbin/policy-rc.d "$WORK/policy-rc.d.ours"; true; }

case "${1:-}" in
setup)
  mkdir -p "$WORK/home" && chmod 755 "$WORK" "$WORK/home"
  # the LMTP server (and dovecot-core, when the machine has none) come and go with this run;
  # system users the packages add are remembered and removed by teardown
  getent passwd | cut -d: -f1 | sort >"$WORK/users-before"
  getent group | cut -d: -f1 | sort >"$WORK/groups-before"
  install lmtp dovecot-core dovecot-lmtpd
  PY configure.py "$WORK"
  for u in $SENDER_USER $LDA_USER; do
    id "$u" >/dev/null 2>&1 || useradd -M -d "$WORK/home/$u" -s /usr/sbin/nologin "$u"
    mkdir -p "$WORK/home/$u" && chown "$u:$u" "$WORK/home/$u"
  done
  uid=$(id -u $LDA_USER); gid=$(id -g $LDA_USER)
  sed "s/@UID@/$uid/; s/@GID@/$gid/" "$WORK/dovecot/users.in" >"$WORK/dovecot/users"
  mkdir -p "$WORK/dovecot/mail" && chown "$uid:$gid" "$WORK/dovecot/mail"
  chmod -R a+rX "$WORK/dovecot"
  /usr/sbin/dovecot -c "$WORK/dovecot/dovecot.conf"
  chmod 755 "$WORK/dovecot/run"
  chmod 666 "$WORK/dovecot/dovecot.log"  # dovecot-lda runs as the recipient and logs there
  # $! must be the server's own pid (nohup execs python), not a subshell's
  (cd "$HERE" && { nohup python3 remote.py >"$WORK/remote.log" 2>&1 & echo $! >"$WORK/remote.pid"; })
  sleep 1; cat "$WORK/remote.log"
  ;;
postfix)
  no_start
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  install postfix postfix
  cp "$WORK/postfix/transport" "$WORK/postfix/mailbox_commands" /etc/postfix/
  cat >/etc/postfix/main.cf <<CF
compatibility_level = 3.6
myhostname = $(PY -c 'import cases; print(cases.HOSTNAME)')
mydomain = $(PY -c 'import cases; print(cases.LOCAL_DOMAIN)')
myorigin = \$mydomain
mydestination = \$myhostname, \$mydomain, localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
home_mailbox = Maildir/
mailbox_command_maps = hash:/etc/postfix/mailbox_commands
transport_maps = hash:/etc/postfix/transport
default_transport = smtp
relay_transport = smtp
alias_maps =
alias_database =
delay_warning_time = 1m
maximal_queue_lifetime = 4m
bounce_queue_lifetime = 4m
queue_run_delay = 20s
minimal_backoff_time = 20s
maximal_backoff_time = 40s
smtp_connect_timeout = 10s
smtp_helo_timeout = 15s
CF
  postconf -M# smtp/inet
  postmap /etc/postfix/transport /etc/postfix/mailbox_commands
  postfix start
  sleep 2
  PY send.py /usr/sbin/sendmail
  queue_wait "postqueue -j | wc -l"
  collect postfix
  postfix stop || true
  purge postfix
  allow_start
  ;;
exim4)
  no_start
  install exim4 exim4-daemon-light
  cp "$WORK/exim/exim4.conf" /etc/exim4/exim4.conf
  PY send.py /usr/sbin/sendmail
  queue_wait "exim4 -bpc" "exim4 -q"
  collect exim4
  purge exim4
  rm -rf /var/spool/exim4 /var/log/exim4
  rm -f /etc/exim4/exim4.conf && rmdir /etc/exim4 2>/dev/null || true
  ! id Debian-exim >/dev/null 2>&1 || userdel Debian-exim
  ! getent group Debian-exim >/dev/null || groupdel Debian-exim
  allow_start
  ;;
opensmtpd)
  no_start
  echo "opensmtpd opensmtpd/mailname string $(PY -c 'import cases; print(cases.HOSTNAME)')" | debconf-set-selections
  install opensmtpd opensmtpd
  PY -c 'import cases; print(cases.HOSTNAME)' >/etc/mailname
  /usr/sbin/smtpd -f "$WORK/smtpd/smtpd.conf"
  sleep 2
  SKIP=local-unknown PY send.py /usr/sbin/sendmail
  queue_wait "smtpctl show queue | wc -l"
  collect opensmtpd
  kill "$(pgrep -o -x smtpd)" || true  # the parent smtpd started above
  purge opensmtpd
  rm -f /etc/mailname
  ! id opensmtpd >/dev/null 2>&1 || userdel opensmtpd
  ! getent group opensmtpd >/dev/null || groupdel opensmtpd
  allow_start
  ;;
sendmail)
  no_start
  install sendmail sendmail-bin
  SM=$WORK/sendmail
  mkdir -p /etc/mail/holdout
  cp "$SM/aliases" "$SM/mailertable" "$SM/deliver" /etc/mail/holdout/
  m4 "$SM/holdout.mc" >/etc/mail/sendmail.cf
  makemap hash /etc/mail/holdout/mailertable </etc/mail/holdout/mailertable
  newaliases
  # a queue runner only (no -bd: nothing listens); mail goes in with -Am (no MSP)
  "$SM/sm" -L sm-holdout -O PidFile="$SM/pid" -q20s
  sleep 1
  PY send.py "$SM/sm" -Am -odb -oem
  queue_wait "find /var/spool/mqueue -name 'qf*' | wc -l"
  collect sendmail
  kill "$(head -1 "$SM/pid")" || true  # the queue runner started above
  purge sendmail
  rm -rf /etc/mail /var/spool/mqueue /var/spool/mqueue-client /var/lib/sendmail
  for u in smmta smmsp; do ! id $u >/dev/null 2>&1 || userdel $u; done
  for g in smmta smmsp; do ! getent group $g >/dev/null || groupdel $g; done
  allow_start
  ;;
courier)
  no_start
  install courier courier-mta
  C=$WORK/courier
  for f in me defaultdomain locals esmtproutes queuetime warntime retryalpha retrybeta retrygamma \
      retrymaxdelta esmtpdelay esmtptimeoutconnect esmtptimeouthelo sizelimit; do
    cp "$C/$f" /etc/courier/
  done
  for u in $SENDER_USER $LDA_USER; do  # Courier delivers to ./Maildir only when it exists
    mkdir -p "$WORK/home/$u/Maildir/"{new,cur,tmp} && chown -R "$u:$u" "$WORK/home/$u/Maildir"
  done
  cp "$C/dot-courier-lda" "$WORK/home/$LDA_USER/.courier"  # (install() above is apt's)
  chown $LDA_USER:$LDA_USER "$WORK/home/$LDA_USER/.courier" && chmod 600 "$WORK/home/$LDA_USER/.courier"
  /usr/sbin/authdaemond start
  /usr/sbin/courier start
  sleep 2
  # Courier has no LMTP client
  SKIP=lmtp-quota,lmtp-quota-2rcpt,lmtp-unknown PY send.py /usr/sbin/sendmail
  queue_wait "find /var/lib/courier/msgs -type f -name 'C*' | wc -l"
  collect courier
  /usr/sbin/courier stop || true
  /usr/sbin/authdaemond stop || true
  rm -f "$WORK/home/$LDA_USER/.courier"
  purge courier
  rm -rf /etc/courier /var/lib/courier /var/spool/courier /run/courier /etc/courier-authlib
  for u in courier daemon-courier; do ! id $u >/dev/null 2>&1 || userdel $u; done
  ! getent group courier >/dev/null || groupdel courier
  allow_start
  ;;
dma)
  no_start
  echo "dma dma/mailname string $(PY -c 'import cases; print(cases.LOCAL_DOMAIN)')" | debconf-set-selections
  echo "dma dma/relayhost string" | debconf-set-selections
  install dma dma
  cp "$WORK/dma/aliases" /etc/dma/holdout-aliases
  rm -f /var/mail/$SENDER_USER
  # one smarthost per message: the stand-in server of the case's domain (cases.DMA_SKIP
  # lists the cases dma cannot express); dma delivers at once, in a process of its own
  for c in $(PY -c 'import cases; print(" ".join(n for n, *_ in cases.CASES if n not in cases.DMA_SKIP))'); do
    host=$(PY -c "import cases; print(cases.dma_smarthost('$c'))")
    sed "s/^@SMARTHOST@\$/${host:+SMARTHOST $host}/" "$WORK/dma/dma.conf.in" >/etc/dma/dma.conf
    ONLY=$c PY send.py /usr/sbin/sendmail
    sleep 3
  done
  queue_wait "find /var/spool/dma -type f -name 'Q*' | wc -l"
  sleep 5
  PY split_mbox.py /var/mail/$SENDER_USER "$WORK/home/$SENDER_USER/Maildir/new"
  collect dma
  mv /var/mail/$SENDER_USER "$WORK/used/dma/mbox"
  purge dma
  rm -rf /etc/dma /var/spool/dma
  allow_start
  ;;
haraka)
  # Haraka (npm, pinned) in $WORK/haraka: it listens on 127.0.0.1:2587 only, relays for
  # loopback clients, routes each domain by cases.ROUTES (haraka/holdout_route.js) and
  # sends its notices to the sending domain's server, haraka/inbox.py, which writes them
  # to the sender's Maildir. No local delivery: the two local cases are not sent.
  H=$WORK/haraka
  mkdir -p "$H/npm" "$WORK/home/$SENDER_USER/Maildir/new"
  (cd "$H/npm" && npm install --no-audit --no-fund "Haraka@$HARAKA_VERSION" >"$WORK/npm-haraka.log" 2>&1)
  rm -rf "$H/inst" && "$H/npm/node_modules/.bin/haraka" -i "$H/inst" >/dev/null
  PY haraka/haraka_config.py "$WORK" "$H/npm/node_modules/Haraka"
  (cd "$HERE" && { nohup python3 haraka/inbox.py "$WORK/home/$SENDER_USER/Maildir" >"$H/inbox.log" 2>&1 & echo $! >"$H/inbox.pid"; })
  (cd "$H" && { HARAKA_HOLDOUT_DIR=$H nohup "$H/npm/node_modules/.bin/haraka" -c "$H/inst" >"$H/haraka.log" 2>&1 & echo $! >"$H/pid"; })
  sleep 5
  SKIP=local-unknown,lda-quota PY send.py python3 haraka/submit.py
  # Haraka keeps deferred mail in memory between tries (its queue directory can look
  # empty): wait out its four minutes of retries, then until no notice came for a minute
  sleep 270
  until [ "$(ls "$WORK/home/$SENDER_USER/Maildir/new" | wc -l)" = "${n:-}" ]; do
    n=$(ls "$WORK/home/$SENDER_USER/Maildir/new" | wc -l); sleep 60
  done
  collect haraka
  kill "$(cat "$H/pid")" "$(cat "$H/inbox.pid")" || true
  ;;
teardown)
  [ -f "$WORK/remote.pid" ] && kill "$(cat "$WORK/remote.pid")" || true
  for p in "$WORK/haraka/pid" "$WORK/haraka/inbox.pid"; do  # a Haraka step cut short
    [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
  done
  doveadm -c "$WORK/dovecot/dovecot.conf" stop || true
  for u in $SENDER_USER $LDA_USER; do id "$u" >/dev/null 2>&1 && userdel "$u"; done
  rm -f /etc/mailname
  purge lmtp
  if [ -f "$WORK/users-before" ]; then  # users/groups the purged packages left behind
    getent passwd | cut -d: -f1 | sort | comm -13 "$WORK/users-before" - | xargs -r -n1 userdel
    getent group | cut -d: -f1 | sort | comm -13 "$WORK/groups-before" - | xargs -r -n1 groupdel
  fi
  allow_start
  ;;
*)
  sed -n '2,17p' "$0"; exit 2
  ;;
esac
