#!/usr/bin/env bash
# A real Postfix 3.7 (Debian 12) submission service on loopback whose SASL is Dovecot's (XOAUTH2, OAUTHBEARER,
# PLAIN, LOGIN): the SMTP probe's real counterpart. Self-contained like lab.sh: its own config directory, queue and
# log under $PF_LAB, non-standard ports, no system mail setup touched (no /etc/postfix/main.cf is read or written).
# Usage: postfix.sh install|start|stop|restart|status
#   PF_LAB=/tmp/postfix-lab        config (etc/), queue (spool/), data/, log/postfix.log
#   PF_SUBMISSION_PORT=12587       submission with STARTTLS (TLS required before AUTH, like Exchange's 587)
#   PF_SUBMISSIONS_PORT=12465      submissions, implicit TLS (like Gmail's 465)
# Dovecot for SASL: its own lab.sh instance (LAB=/tmp/dovecot-lab-postfix, ports 12143/12993/12110/12995, local JWT
# validation, the auth service on 127.0.0.1:$PF_AUTH_PORT). `start` starts it first unless it runs; mint tokens with
# `labfixture.mint(labfixture.POSTFIX_DOVECOT)`. The TLS certificate is that instance's (SAN localhost, 127.0.0.1).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PF_LAB="${PF_LAB:-/tmp/postfix-lab}"
PF_SUBMISSION_PORT="${PF_SUBMISSION_PORT:-12587}"
PF_SUBMISSIONS_PORT="${PF_SUBMISSIONS_PORT:-12465}"
PF_AUTH_PORT="${PF_AUTH_PORT:-12124}"
DOVECOT_ENV=(LAB=/tmp/dovecot-lab-postfix LAB_OAUTH=jwt LAB_AUTH_PORT="$PF_AUTH_PORT" LAB_IMAP_PORT=12143 LAB_IMAPS_PORT=12993
             LAB_POP3_PORT=12110 LAB_POP3S_PORT=12995 "LAB_EXTRA_DOVECOT=instance_name = dovecot-lab-postfix")
ETC="$PF_LAB/etc"

log() { echo "[postfix-lab] $*" >&2; }

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cmd_install() {
  if [ -x /usr/sbin/postfix ] && [ -x /usr/lib/postfix/sbin/smtpd ]; then
    log "postfix already installed: $(dpkg-query -W -f '${Version}' postfix 2>/dev/null)"; return
  fi
  export DEBIAN_FRONTEND=noninteractive
  # "No configuration": the package writes no /etc/postfix/main.cf and configures no system mail. policy-rc.d (as
  # lab.sh does for Dovecot) keeps the postinst from starting the system postfix.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  local added_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; added_policy=1
  fi
  apt-get update -q
  apt-get install -y -q --no-install-recommends postfix
  [ "$added_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  return 0
}

cmd_setup() {
  local cert=/tmp/dovecot-lab-postfix/ssl
  mkdir -p "$ETC" "$PF_LAB/spool" "$PF_LAB/data" "$PF_LAB/log"
  chmod 0755 "$PF_LAB" "$ETC" "$PF_LAB/log"
  chown postfix "$PF_LAB/data"
  cat > "$ETC/main.cf" <<EOF
# Self-contained Postfix lab (postfix -c $ETC): loopback only, every message discarded, SASL by Dovecot.
compatibility_level = 3.6
queue_directory = $PF_LAB/spool
data_directory = $PF_LAB/data
meta_directory = /etc/postfix
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = $PF_LAB/log/postfix.log
maillog_file_prefixes = $PF_LAB/log
myhostname = localhost
mydomain = localdomain
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
smtpd_banner = \$myhostname ESMTP Postfix (Debian/GNU)
alias_maps =
alias_database =
# nothing leaves the lab: every transport discards (a --send-test message is accepted, then dropped)
default_transport = discard
relay_transport = discard
local_transport = discard
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:$PF_AUTH_PORT
smtpd_tls_cert_file = $cert/server.crt
smtpd_tls_key_file = $cert/server.key
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
EOF
  cat > "$ETC/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command
$PF_SUBMISSION_PORT inet n - n - - smtpd
  -o smtpd_tls_security_level=encrypt
$PF_SUBMISSIONS_PORT inet n - n - - smtpd
  -o smtpd_tls_wrappermode=yes
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

cmd_start() {
  if listening "$PF_AUTH_PORT"; then
    log "dovecot for postfix already running"
  else
    env "${DOVECOT_ENV[@]}" bash "$HERE/lab.sh" start </dev/null >/dev/null
  fi
  if postfix -c "$ETC" status >/dev/null 2>&1; then
    log "postfix already running; use: $0 restart"; return 0
  fi
  cmd_setup
  postfix -c "$ETC" check >/dev/null 2>&1 || true  # creates the queue directories; warnings about /etc/postfix are harmless
  postfix -c "$ETC" start </dev/null >/dev/null 2>>"$PF_LAB/log/start.stderr" \
    || { tail -n 20 "$PF_LAB/log/start.stderr" >&2; log "postfix did not start: run postfix -c $ETC check on a terminal for its message"; exit 1; }
  for _ in $(seq 1 100); do listening "$PF_SUBMISSION_PORT" && listening "$PF_SUBMISSIONS_PORT" && break; sleep 0.05; done
  listening "$PF_SUBMISSION_PORT" || { tail -n 30 "$PF_LAB/log/postfix.log" >&2; log "postfix did not open its ports"; exit 1; }
  log "postfix submission 127.0.0.1:$PF_SUBMISSION_PORT (STARTTLS), submissions :$PF_SUBMISSIONS_PORT (TLS), SASL dovecot :$PF_AUTH_PORT"
}

cmd_stop() {
  if postfix -c "$ETC" status >/dev/null 2>&1; then
    postfix -c "$ETC" stop >/dev/null 2>&1 || true
    for _ in $(seq 1 100); do postfix -c "$ETC" status >/dev/null 2>&1 || break; sleep 0.05; done
    log "postfix stopped"
  fi
  env "${DOVECOT_ENV[@]}" bash "$HERE/lab.sh" stop </dev/null >/dev/null 2>&1 || true
}

cmd_status() {
  postfix -c "$ETC" status
}

case "${1:-}" in
  install) cmd_install ;;
  setup) cmd_setup ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  status) cmd_status ;;
  *) echo "usage: $0 install|setup|start|stop|restart|status" >&2; exit 2 ;;
esac
