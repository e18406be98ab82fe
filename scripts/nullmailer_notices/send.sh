#!/bin/sh
# Inject one ordinary business message per case through nullmailer's sendmail.
set -e
msg() {  # to subject
  printf 'From: Kieran Doyle <kdoyle@hartwell-trading.test>\nTo: %s\nSubject: %s\nDate: Mon, 07 Dec 2026 06:00:00 +0000\nMessage-ID: <%s.20261207@hartwell-trading.test>\n\nHello,\n\nplease see the figures below.\n\nKieran\n' "$1" "$2" "$3" \
    | /usr/sbin/sendmail -f kdoyle@hartwell-trading.test "$1"
}
msg m.okafor@northfield-supply.test "Purchase order 4471 for pallets" nm1
msg lena.brandt@kestrel-media.test "Revised delivery schedule" nm2
msg p.iversen@halden-works.test "Invoice 2291 for November" nm3
msg t.nakamura@corvid-freight.test "Meeting notes" nm4
