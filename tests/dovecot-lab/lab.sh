#!/usr/bin/env bash
# Dovecot 2.3 (Debian 12) OAuth2 lab: IMAP/POP3 on 127.0.0.1 with PLAIN + XOAUTH2 + OAUTHBEARER.
# Usage: lab.sh install|setup|start|stop|status|restart
#   (start = setup + start, so always pass the same LAB_* env to start as you want configured)
#   LAB=/tmp/dovecot-lab           self-contained directory (config, certs, keys, mail, logs, pid)
#   LAB_OAUTH=jwt|introspect|both  which oauth2 passdb(s) to configure (default: both =
#                                  local JWT validation first, then introspection for non-JWT tokens)
#   LAB_INTROSPECTION_MODE=post|get|auth   how dovecot calls the introspection endpoint (default post)
#   LAB_SCOPE="mail"               required scope (empty = scope not checked)
#   LAB_IMAP_PORT=10143 LAB_IMAPS_PORT=10993 LAB_POP3_PORT=10110 LAB_POP3S_PORT=10995
#   LAB_INTROSPECT_PORT=18080      port of introspect_server.py (started by `start` when needed)
#   LAB_AUTH_PORT=                 if set, Dovecot's auth service also listens on 127.0.0.1:<port> (Postfix SASL, postfix.sh)
#   LAB_OPENID_CONFIG_URL=...      if set, echoed as "openid-configuration" in failure challenges
#   LAB_EXTRA_DOVECOT='...'        extra lines appended to dovecot.conf (later settings win)
#   LAB_EXTRA_OAUTH2='...'         extra lines appended to both oauth2-*.conf.ext files
#   LAB_KEEP_CONFIG=1              `start` uses the existing (hand-edited) config instead of regenerating
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LAB="${LAB:-/tmp/dovecot-lab}"
LAB_OAUTH="${LAB_OAUTH:-both}"
LAB_INTROSPECTION_MODE="${LAB_INTROSPECTION_MODE:-post}"
LAB_SCOPE="${LAB_SCOPE-mail}"
LAB_ISSUER="${LAB_ISSUER:-https://idp.lab.test}"
LAB_IMAP_PORT="${LAB_IMAP_PORT:-10143}"
LAB_IMAPS_PORT="${LAB_IMAPS_PORT:-10993}"
LAB_POP3_PORT="${LAB_POP3_PORT:-10110}"
LAB_POP3S_PORT="${LAB_POP3S_PORT:-10995}"
LAB_INTROSPECT_PORT="${LAB_INTROSPECT_PORT:-18080}"
CONF="$LAB/dovecot.conf"

log() { echo "[lab] $*" >&2; }

cmd_install() {
  if command -v dovecot >/dev/null && [ -x /usr/lib/dovecot/imap-login ] && [ -x /usr/lib/dovecot/pop3-login ]; then
    log "dovecot already installed: $(dovecot --version)"; return
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Keep the package's postinst from starting the system-wide dovecot (ports 110/143/993/995,
  # /etc/dovecot config). Docker's debian images already ship this policy-rc.d; add it if absent.
  local added_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; added_policy=1
  fi
  apt-get update -q
  apt-get install -y -q --no-install-recommends dovecot-imapd dovecot-pop3d openssl
  [ "$added_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  return 0
}

cmd_setup() {
  mkdir -p "$LAB"/{run,state,log,ssl,keys,mail}
  chmod 0755 "$LAB" "$LAB"/{run,state,log,ssl,keys}

  # --- TLS: self-signed cert for 127.0.0.1 / localhost -------------------------------------
  if [ ! -s "$LAB/ssl/server.crt" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
      -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
      -keyout "$LAB/ssl/server.key" -out "$LAB/ssl/server.crt" 2>/dev/null
    chmod 0600 "$LAB/ssl/server.key"
  fi

  # --- JWT validation keys: <prefix>/<azp|default>/<ALG>/<kid|default> ----------------------
  # HS256: file content = base64 of the raw shared secret.  RS256/ES256: PEM public key.
  mkdir -p "$LAB/keys/default/HS256" "$LAB/keys/default/RS256" "$LAB/keys/default/ES256" "$LAB/keys-private"
  chmod 0700 "$LAB/keys-private"
  if [ ! -s "$LAB/keys-private/hs256.secret" ]; then
    head -c 32 /dev/urandom > "$LAB/keys-private/hs256.secret"
  fi
  base64 -w0 "$LAB/keys-private/hs256.secret" > "$LAB/keys/default/HS256/hs1"
  base64 -w0 "$LAB/keys-private/hs256.secret" > "$LAB/keys/default/HS256/default"   # for tokens without kid
  if [ ! -s "$LAB/keys-private/rs256.key" ]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$LAB/keys-private/rs256.key" 2>/dev/null
  fi
  openssl pkey -in "$LAB/keys-private/rs256.key" -pubout -out "$LAB/keys/default/RS256/rs1" 2>/dev/null
  if [ ! -s "$LAB/keys-private/es256.key" ]; then
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$LAB/keys-private/es256.key" 2>/dev/null
  fi
  openssl pkey -in "$LAB/keys-private/es256.key" -pubout -out "$LAB/keys/default/ES256/es1" 2>/dev/null
  find "$LAB/keys" -type d -exec chmod 0755 {} +; find "$LAB/keys" -type f -exec chmod 0644 {} +

  # --- PLAIN users (passwd-file, cleartext passwords) ----------------------------------------
  cat > "$LAB/users" <<'EOF'
alice@example.test:{PLAIN}alice-password::::::
bob@example.test:{PLAIN}bob-password::::::
EOF
  chmod 0644 "$LAB/users"

  # --- mail storage owned by the unprivileged mail uid ---------------------------------------
  chown nobody:nogroup "$LAB/mail"; chmod 0700 "$LAB/mail"

  # --- oauth2 passdb configs -------------------------------------------------------------------
  # openid_configuration_url is never fetched by dovecot; it is only echoed to the client as
  # "openid-configuration" in the failure challenge JSON (RFC 7628 discovery hint).
  local openid_line="# openid_configuration_url = (unset: failure JSON has no openid-configuration key)"
  [ -n "${LAB_OPENID_CONFIG_URL:-}" ] && openid_line="openid_configuration_url = $LAB_OPENID_CONFIG_URL"
  cat > "$LAB/oauth2-jwt.conf.ext" <<EOF
# Local JWT validation (no HTTP). Key lookup: dict key shared/<azp>/<alg>/<kid>
# -> fs:posix file $LAB/keys/<azp|default>/<ALG>/<kid|default>
introspection_mode = local
local_validation_key_dict = fs:posix:prefix=$LAB/keys/
username_attribute = email
# username_format = %Lu   (default; applied to BOTH the SASL user and the claim before comparing)
issuers = $LAB_ISSUER
scope = $LAB_SCOPE
# default active_attribute=active / active_value=true: only checked when the claim is present
$openid_line
debug = yes
${LAB_EXTRA_OAUTH2:-}
EOF

  local iurl="http://127.0.0.1:$LAB_INTROSPECT_PORT/introspect"
  [ "$LAB_INTROSPECTION_MODE" = get ] && iurl="$iurl?token="
  cat > "$LAB/oauth2-introspect.conf.ext" <<EOF
# RFC 7662-style introspection against a local HTTP endpoint (introspect_server.py)
#   post: POST token=<t>&client_id=..&client_secret=..  (form-encoded)
#   get : GET <introspection_url><t>&client_id=..&client_secret=..   (url must end in "?token=")
#   auth: GET <introspection_url> with "Authorization: Bearer <t>"
introspection_mode = $LAB_INTROSPECTION_MODE
introspection_url = $iurl
client_id = dovecot-lab
client_secret = dovecot-lab-secret
username_attribute = username
active_attribute = active
active_value = true
scope = $LAB_SCOPE
timeout_msecs = 5000
$openid_line
debug = yes
${LAB_EXTRA_OAUTH2:-}
EOF

  local oauth_passdbs=""
  if [ "$LAB_OAUTH" = jwt ] || [ "$LAB_OAUTH" = both ]; then
    oauth_passdbs+="
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $LAB/oauth2-jwt.conf.ext
}"
  fi
  if [ "$LAB_OAUTH" = introspect ] || [ "$LAB_OAUTH" = both ]; then
    oauth_passdbs+="
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $LAB/oauth2-introspect.conf.ext
}"
  fi

  cat > "$CONF" <<EOF
# Self-contained Dovecot 2.3 lab config (no !include of /etc/dovecot).
base_dir = $LAB/run
state_dir = $LAB/state
instance_name = dovecot-lab
log_path = $LAB/log/dovecot.log
info_log_path = $LAB/log/dovecot.log
debug_log_path = $LAB/log/dovecot.log

protocols = imap pop3
listen = 127.0.0.1

default_login_user = dovenull
default_internal_user = dovecot

ssl = yes
ssl_cert = <$LAB/ssl/server.crt
ssl_key = <$LAB/ssl/server.key
ssl_dh = </usr/share/dovecot/dh.pem
ssl_min_protocol = TLSv1.2

# Allow PLAIN/XOAUTH2/OAUTHBEARER on the cleartext ports too (127.0.0.1->127.0.0.1 counts
# as "secured" anyway, so they would be advertised there even with the default "yes").
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
auth_failure_delay = 0
auth_verbose = yes
auth_debug = yes
auth_cache_size = 0

mail_location = maildir:~/Maildir
mail_uid = nobody
mail_gid = nogroup

passdb {
  driver = passwd-file
  args = scheme=PLAIN $LAB/users
  mechanisms = plain login
}
$oauth_passdbs

userdb {
  driver = static
  args = home=$LAB/mail/%u allow_all_users=yes
}

service imap-login {
  inet_listener imap {
    port = $LAB_IMAP_PORT
  }
  inet_listener imaps {
    port = $LAB_IMAPS_PORT
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = $LAB_POP3_PORT
  }
  inet_listener pop3s {
    port = $LAB_POP3S_PORT
    ssl = yes
  }
}
# Disable the per-IP auth failure penalty (2,4,8,15 s delays) so failure tests stay fast.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
${LAB_EXTRA_DOVECOT:-}
EOF
  if [ -n "${LAB_AUTH_PORT:-}" ]; then  # Postfix asks this listener (smtpd_sasl_type = dovecot, smtpd_sasl_path = inet:...)
    cat >> "$CONF" <<EOF
service auth {
  inet_listener sasl {
    address = 127.0.0.1
    port = $LAB_AUTH_PORT
  }
}
EOF
  fi
  log "config written to $CONF (LAB_OAUTH=$LAB_OAUTH, introspection_mode=$LAB_INTROSPECTION_MODE, scope='$LAB_SCOPE')"
}

wait_port() { # host port timeout_s
  python3 - "$1" "$2" "$3" <<'PY'
import socket, sys, time
h, p, t = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end = time.time() + t
while time.time() < end:
    try:
        socket.create_connection((h, p), 0.2).close(); sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

cmd_start() {
  # always regenerate config from the current env (certs/keys are kept if present);
  # LAB_KEEP_CONFIG=1 starts with the files as they are (e.g. after hand edits)
  if [ -s "$LAB/run/master.pid" ] && alive "$(cat "$LAB/run/master.pid")"; then
    log "dovecot already running (pid $(cat "$LAB/run/master.pid")); use: $0 restart"; exit 1
  fi
  [ "${LAB_KEEP_CONFIG:-0}" = 1 ] && [ -f "$CONF" ] || cmd_setup
  if [ "$LAB_OAUTH" != jwt ] && ! wait_port 127.0.0.1 "$LAB_INTROSPECT_PORT" 0.1; then
    # setsid: the server must outlive the process group of whoever ran `start` (a test runner, a CI step)
    setsid python3 "$HERE/introspect_server.py" --port "$LAB_INTROSPECT_PORT" --tokens "$LAB/tokens.json" \
      --log "$LAB/log/introspect.log" >>"$LAB/log/introspect.stderr" 2>&1 &
    echo $! > "$LAB/run-introspect.pid"
    wait_port 127.0.0.1 "$LAB_INTROSPECT_PORT" 10 || fail_start "introspection server did not start"
    log "introspection server pid $(cat "$LAB/run-introspect.pid") on 127.0.0.1:$LAB_INTROSPECT_PORT"
  fi
  doveconf -c "$CONF" -n >/dev/null || fail_start "config error (see doveconf output above)"
  # dovecot daemonizes (master pid in $LAB/run/master.pid) but the master KEEPS the caller's
  # stderr open -> redirect it, or `$(lab.sh start)` / subprocess pipes / CI log capture hang.
  dovecot -c "$CONF" </dev/null >/dev/null 2>>"$LAB/log/master.stderr" \
    || { tail -n 20 "$LAB/log/master.stderr" >&2; fail_start "dovecot failed to start"; }
  wait_port 127.0.0.1 "$LAB_IMAP_PORT" 15 && wait_port 127.0.0.1 "$LAB_POP3S_PORT" 5 \
    || { tail -n 30 "$LAB/log/dovecot.log" >&2; cmd_stop; fail_start "dovecot did not open its ports"; }
  log "dovecot master pid $(cat "$LAB/run/master.pid") imap:$LAB_IMAP_PORT imaps:$LAB_IMAPS_PORT pop3:$LAB_POP3_PORT pop3s:$LAB_POP3S_PORT"
}

fail_start() { log "$1"; stop_introspect; exit 1; }

stop_introspect() {
  if [ -s "$LAB/run-introspect.pid" ]; then
    local ipid; ipid="$(cat "$LAB/run-introspect.pid")"
    kill -TERM "$ipid" 2>/dev/null || true
    rm -f "$LAB/run-introspect.pid"
    log "introspection server $ipid stopped"
  fi
}

alive() { [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

cmd_stop() {
  if [ -s "$LAB/run/master.pid" ] && alive "$(cat "$LAB/run/master.pid")"; then
    local pid; pid="$(cat "$LAB/run/master.pid")"
    # doveadm stop == SIGTERM to the master pid from base_dir/master.pid; it returns once the
    # master is gone (~1.5-2.5 s: the log process drains first)
    doveadm -c "$CONF" stop 2>/dev/null || kill -TERM "$pid"
    for _ in $(seq 1 200); do alive "$pid" || break; sleep 0.05; done
    alive "$pid" && { log "master $pid still alive, SIGKILL"; kill -KILL "$pid"; }
    log "dovecot stopped"
  fi
  stop_introspect
}

cmd_status() {
  if [ -s "$LAB/run/master.pid" ] && kill -0 "$(cat "$LAB/run/master.pid")" 2>/dev/null; then
    echo "dovecot running, master pid $(cat "$LAB/run/master.pid")"
    ps -o pid,ppid,rss,vsz,user,cmd --ppid "$(cat "$LAB/run/master.pid")" -p "$(cat "$LAB/run/master.pid")"
  else
    echo "dovecot not running"; return 1
  fi
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
