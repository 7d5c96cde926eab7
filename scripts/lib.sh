# shellcheck shell=bash
# Helpers shared by scripts/start and scripts/test. Source it from the repository root:
#
#     source scripts/lib.sh
#
# Every ensure_* function is idempotent, prints one short line saying what it did, and is fast
# (well under a second) when everything is already in place. A service that cannot be installed or
# started is always a hard failure (non-zero exit with a message), never a skip: scripts/test
# exports HUB_REQUIRE_SERVICES=1, so the tests would fail anyway, and failing here is clearer.
# Under CI=true the messages say so explicitly.
#
# Machine assumptions (Debian 12): Python 3.11 as python3, RabbitMQ and PostgreSQL from Debian
# packages, no systemd, no Docker. Root, or sudo when not root, is needed only to install or start
# services; an already-running setup needs neither.

HUB_VENV=.venv  # scripts/start and scripts/test call .venv/bin/... directly
HUB_RABBITMQ_PLUGINS=(rabbitmq_management rabbitmq_consistent_hash_exchange)
HUB_MANAGEMENT_URL=${HUB_MANAGEMENT_URL:-http://127.0.0.1:15672}
_HUB_APT_UPDATED=0

# --- small utilities ------------------------------------------------------------------------------

_log() { printf '%s\n' "$*"; }
_warn() { printf 'warning: %s\n' "$*" >&2; }

# _die MESSAGE: hard failure. lib.sh is sourced into the calling script, so this ends that script.
_die() {
    if [ "${CI:-}" = "true" ]; then
        printf 'error (CI=true): %s\n' "$*" >&2
    else
        printf 'error: %s\n' "$*" >&2
    fi
    exit 1
}

# _as_root CMD...: run CMD as root (directly when root, via sudo otherwise).
_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        _die "need root or sudo to run: $*"
    fi
}

# _need_root WHAT: fail early (before any long wait) when WHAT would need root and we cannot get it.
_need_root() {
    if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
        _die "$1 needs root or sudo, and neither is available"
    fi
}

# _join ITEM...: ITEM, ITEM, ...
_join() {
    local out="" item
    for item in "$@"; do out="${out:+$out, }$item"; done
    printf '%s' "$out"
}

# _quiet LOGNAME CMD...: run CMD with its output captured; on failure print the output and return
# CMD's status. Keeps the happy path quiet while still showing errors.
_quiet() {
    local name=$1 log status=0
    shift
    log=$(mktemp "${TMPDIR:-/tmp}/hub-${name}.XXXXXX")
    "$@" >"$log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        printf -- '--- output of: %s (exit %s) ---\n' "$*" "$status" >&2
        tail -n 60 "$log" >&2
        printf -- '--- end of output ---\n' >&2
    fi
    rm -f "$log"
    return "$status"
}

# _apt_install PKG...: apt-get update (once per run) and install PKG non-interactively.
_apt_install() {
    command -v apt-get >/dev/null 2>&1 || _die "apt-get not found; install $* by hand"
    _need_root "installing $*"
    if [ "$_HUB_APT_UPDATED" -eq 0 ]; then
        _quiet apt-update _as_root apt-get update -q || _die "apt-get update failed"
        _HUB_APT_UPDATED=1
    fi
    _quiet apt-install _as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q -o Dpkg::Use-Pty=0 "$@" || _die "apt-get install $* failed"
}

# _tcp_open HOST PORT: true when something accepts TCP connections on HOST:PORT.
_tcp_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# _wait_for SECONDS CMD...: poll CMD every 0.5 s until it succeeds or SECONDS have passed.
_wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.5
    done
}

# --- Python virtual environment -------------------------------------------------------------------

_venv_ok() {
    [ -f "$HUB_VENV/pyvenv.cfg" ] && [ -x "$HUB_VENV/bin/python" ] &&
        "$HUB_VENV/bin/python" -c 'import pip' >/dev/null 2>&1
}

# ensure_venv: create $HUB_VENV if missing or broken; pip install -e '.[dev]' when pyproject.toml is
# newer than $HUB_VENV/.installed (or the stamp or the hub entry point is missing).
ensure_venv() {
    local did=""
    if ! _venv_ok; then
        if [ -e "$HUB_VENV" ]; then
            _warn "$HUB_VENV is broken (no working python/pip); recreating it"
            rm -rf "$HUB_VENV"
        fi
        command -v python3 >/dev/null 2>&1 || _apt_install python3 python3-venv
        if ! python3 -m venv "$HUB_VENV" >/dev/null 2>&1; then
            # Debian ships venv/ensurepip separately (python3-venv).
            rm -rf "$HUB_VENV"
            _apt_install python3-venv
            rm -rf "$HUB_VENV"
            _quiet venv python3 -m venv "$HUB_VENV" || _die "python3 -m venv $HUB_VENV failed"
        fi
        _venv_ok || _die "$HUB_VENV was created but its python/pip does not work"
        did="created $HUB_VENV"
    fi
    local stamp="$HUB_VENV/.installed"
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ ! -x "$HUB_VENV/bin/hub" ]; then
        _quiet pip "$HUB_VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[dev]' ||
            _die "pip install -e '.[dev]' into $HUB_VENV failed"
        touch "$stamp"
        did="${did:+$did, }installed .[dev]"
    fi
    _log "venv: ${did:-up to date} ($HUB_VENV, $("$HUB_VENV/bin/python" -c 'import platform; print(platform.python_version())'))"
}

# --- RabbitMQ -------------------------------------------------------------------------------------

# _rabbitmq_api_ready [require-hash]: the management API answers 200 with guest:guest; with an
# argument, also require the x-consistent-hash exchange type (i.e. that plugin is running too).
_rabbitmq_api_ready() {
    python3 - "$HUB_MANAGEMENT_URL/api/overview" "${1:-}" <<'PY' >/dev/null 2>&1
import base64, json, sys, urllib.request
url, need_hash = sys.argv[1], bool(sys.argv[2])
req = urllib.request.Request(url, headers={"Authorization": "Basic " + base64.b64encode(b"guest:guest").decode()})
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via http_proxy
with opener.open(req, timeout=3) as resp:  # raises on non-2xx
    if resp.status != 200:
        sys.exit(1)
    body = json.load(resp)
if need_hash and "x-consistent-hash" not in {t.get("name") for t in body.get("exchange_types", [])}:
    sys.exit(1)
PY
}

# _rabbitmq_fd_total: the running node's open-file limit as the management API reports it (empty if unknown).
_rabbitmq_fd_total() {
    python3 - "$HUB_MANAGEMENT_URL/api/nodes" <<'PY' 2>/dev/null
import base64, json, sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Authorization": "Basic " + base64.b64encode(b"guest:guest").decode()})
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
with opener.open(req, timeout=3) as resp:
    print(min(int(n.get("fd_total") or 0) for n in json.load(resp)))
PY
}

_rabbitmq_fd_reported() { local t; t=$(_rabbitmq_fd_total) && [ "${t:-0}" -gt 0 ]; }

# Each quorum queue keeps about five files open, and a hub holds 5 or more per partner; when the node
# runs out, RabbitMQ stops accepting connections (no error, the client just times out), which is how
# a broker started with the usual 1024 stalls as soon as two test vhosts exist. Start it with more.
HUB_RABBITMQ_MIN_FDS=${HUB_RABBITMQ_MIN_FDS:-16384}

_rabbitmq_start_detached() {
    # Debian's wrapper starts the node through `su rabbitmq`, whose pam_limits resets the soft limit:
    # a limits.d entry is the documented way to give the rabbitmq user more (ulimit covers other layouts).
    local limits=/etc/security/limits.d/hub-rabbitmq.conf
    if [ -d /etc/security/limits.d ] && ! grep -qs "nofile $HUB_RABBITMQ_MIN_FDS" "$limits"; then
        printf 'rabbitmq soft nofile %s\nrabbitmq hard nofile %s\n' "$HUB_RABBITMQ_MIN_FDS" "$HUB_RABBITMQ_MIN_FDS" |
            _as_root tee "$limits" >/dev/null || true
    fi
    # shellcheck disable=SC2016
    _as_root sh -c 'ulimit -n "$1" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec rabbitmq-server -detached' \
        sh "$HUB_RABBITMQ_MIN_FDS"
}

_rabbitmq_logs_hint() {
    printf 'see /var/log/rabbitmq/ (startup_err, rabbit@*.log)'
}

# --- RabbitMQ over TLS (amqps on 127.0.0.1:5671) --------------------------------------------------
# Partners and the hub may connect over TLS. On a development or CI machine the broker's certificates
# come from a self-signed CA made here with openssl; hub/broker.py (TEST_TLS_CA) and the tests find the
# CA at $HUB_TEST_TLS_CA, by default $HUB_RABBITMQ_TLS_DIR/ca.pem. The listener is configured in a
# drop-in of its own under /etc/rabbitmq/conf.d (RabbitMQ 3.10 reads rabbitmq.conf, then conf.d/*.conf),
# so rabbitmq.conf is never edited. docs/operations.md says how to use a real CA's certificates instead.

HUB_RABBITMQ_TLS_DIR=${HUB_RABBITMQ_TLS_DIR:-/etc/rabbitmq/hub-tls}
HUB_RABBITMQ_TLS_PORT=${HUB_RABBITMQ_TLS_PORT:-5671}
HUB_RABBITMQ_TLS_CONF=/etc/rabbitmq/conf.d/50-hub-tls.conf
export HUB_TEST_TLS_CA=${HUB_TEST_TLS_CA:-$HUB_RABBITMQ_TLS_DIR/ca.pem}
_HUB_RABBITMQ_TLS_DID=""

# _rabbitmq_tls_conf_text: the drop-in's content. verify_peer without fail_if_no_peer_cert: a client
# certificate is optional, but one that is presented must chain to the CA.
_rabbitmq_tls_conf_text() {
    local d=$HUB_RABBITMQ_TLS_DIR
    printf '%s\n' \
        '# Written by scripts/lib.sh (ensure_rabbitmq): AMQP over TLS for the hub and its partners.' \
        "# Certificates: $d (a self-signed development CA unless an operator replaced them)." \
        "listeners.ssl.hub = 127.0.0.1:$HUB_RABBITMQ_TLS_PORT" \
        "ssl_options.cacertfile = $d/ca.pem" \
        "ssl_options.certfile = $d/server.pem" \
        "ssl_options.keyfile = $d/server.key" \
        'ssl_options.verify = verify_peer' \
        'ssl_options.fail_if_no_peer_cert = false' \
        'ssl_options.versions.1 = tlsv1.3' \
        'ssl_options.versions.2 = tlsv1.2'
}

# _rabbitmq_tls_certs_ok: every certificate is in place and the server's is valid for 30 more days
# (readable without root: only the keys are private).
_rabbitmq_tls_certs_ok() {
    local d=$HUB_RABBITMQ_TLS_DIR f
    for f in ca.pem server.pem client.pem; do [ -s "$d/$f" ] || return 1; done
    [ -e "$d/server.key" ] && [ -e "$d/client.key" ] || return 1
    openssl x509 -checkend 2592000 -noout -in "$d/server.pem" >/dev/null 2>&1
}

# _rabbitmq_tls_make_certs: (re)make the server and client certificates, and the CA when it has none,
# in HUB_RABBITMQ_TLS_DIR as root. server.key is readable by the rabbitmq group; client.key belongs to
# the user running this script (the tests of mutual TLS read it); ca.key never leaves root.
_rabbitmq_tls_make_certs() {
    command -v openssl >/dev/null 2>&1 || _apt_install openssl
    _need_root "making TLS certificates in $HUB_RABBITMQ_TLS_DIR"
    _quiet tls-certs _as_root bash -s "$HUB_RABBITMQ_TLS_DIR" "$(id -u):$(id -g)" <<'SH'
set -euo pipefail
dir=$1 owner=$2
umask 077
mkdir -p "$dir"
chown root:rabbitmq "$dir"
chmod 0755 "$dir"
work=$(mktemp -d "$dir/.new.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
if [ -s "$dir/ca.key" ] && [ -s "$dir/ca.pem" ]; then
    cp "$dir/ca.key" "$dir/ca.pem" .
else
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 -subj "/CN=Hub development CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout ca.key -out ca.pem
fi
leaf() {  # leaf NAME CN EXTENDED_KEY_USAGE [SUBJECT_ALT_NAME]
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=$3" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" ${4:+"subjectAltName=$4"} >"$1.ext"
    openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=$2" -keyout "$1.key" -out "$1.csr"
    openssl x509 -req -sha256 -days 825 -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
        -extfile "$1.ext" -out "$1.pem"
}
leaf server localhost serverAuth "DNS:localhost,IP:127.0.0.1"
leaf client hub-test-client clientAuth
chmod 0644 ca.pem server.pem client.pem
chmod 0600 ca.key
chown root:rabbitmq server.key && chmod 0640 server.key
chown "$owner" client.key && chmod 0600 client.key
for f in ca.key ca.pem server.key server.pem client.key client.pem; do mv -f "$f" "$dir/$f"; done
SH
}

# _rabbitmq_tls_foreign: true when rabbitmq.conf or another conf.d file already configures TLS (an
# operator's real certificates): then this script writes no listener of its own.
_rabbitmq_tls_foreign() {
    local f
    for f in /etc/rabbitmq/rabbitmq.conf /etc/rabbitmq/conf.d/*.conf; do
        [ -f "$f" ] && [ "$f" != "$HUB_RABBITMQ_TLS_CONF" ] || continue
        grep -qE '^[[:space:]]*(listeners\.ssl\.|ssl_options\.)' "$f" && return 0
    done
    return 1
}

# _rabbitmq_tls_setup: before the node is (re)started, make sure the certificates and the drop-in exist.
# Idempotent: nothing is written when both are already right. A running node reads new certificate files
# after its PEM cache is cleared, and a new listener only at boot (_rabbitmq_restart_if_needed).
_rabbitmq_tls_setup() {
    _HUB_RABBITMQ_TLS_DID=""
    if [ ! -f "$HUB_RABBITMQ_TLS_CONF" ] && _rabbitmq_tls_foreign; then
        _warn "rabbitmq: TLS is configured outside $HUB_RABBITMQ_TLS_CONF; leaving it as it is (tests expect amqps on 127.0.0.1:$HUB_RABBITMQ_TLS_PORT with the CA at $HUB_TEST_TLS_CA)"
        return 0
    fi
    if ! _rabbitmq_tls_certs_ok; then
        _rabbitmq_tls_make_certs || _die "making the TLS certificates in $HUB_RABBITMQ_TLS_DIR failed"
        _HUB_RABBITMQ_TLS_DID="made TLS certificates in $HUB_RABBITMQ_TLS_DIR"
        if _as_root rabbitmq-diagnostics -q ping >/dev/null 2>&1; then  # a running node caches PEM files
            _quiet pem-cache _as_root rabbitmqctl -q eval 'ssl:clear_pem_cache().' || true
        fi
    fi
    if ! _rabbitmq_tls_conf_text | cmp -s - "$HUB_RABBITMQ_TLS_CONF"; then
        _need_root "writing $HUB_RABBITMQ_TLS_CONF"
        _as_root mkdir -p "$(dirname "$HUB_RABBITMQ_TLS_CONF")"
        _rabbitmq_tls_conf_text | _as_root tee "$HUB_RABBITMQ_TLS_CONF" >/dev/null ||
            _die "could not write $HUB_RABBITMQ_TLS_CONF"
        _as_root chmod 0644 "$HUB_RABBITMQ_TLS_CONF"
        _HUB_RABBITMQ_TLS_DID="${_HUB_RABBITMQ_TLS_DID:+$_HUB_RABBITMQ_TLS_DID, }wrote $HUB_RABBITMQ_TLS_CONF"
    fi
}

# _rabbitmq_tls_listener: print yes or no, whether the running node has an amqp/ssl listener on
# HUB_RABBITMQ_TLS_PORT (management API); fails when the API does not answer, which is no verdict.
_rabbitmq_tls_listener() {
    python3 - "$HUB_MANAGEMENT_URL/api/overview" "$HUB_RABBITMQ_TLS_PORT" <<'PY' 2>/dev/null
import base64, json, sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Authorization": "Basic " + base64.b64encode(b"guest:guest").decode()})
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
with opener.open(req, timeout=3) as resp:
    listeners = json.load(resp).get("listeners", [])
print("yes" if any(l.get("protocol") == "amqp/ssl" and int(l.get("port", 0)) == int(sys.argv[2]) for l in listeners) else "no")
PY
}

_rabbitmq_tls_listening() { [ "$(_rabbitmq_tls_listener)" = yes ]; }

# _rabbitmq_tls_conf_newer: print yes when the TLS drop-in was written after the running node booted (it
# reads its config only at boot: a changed drop-in, e.g. new TLS versions, needs one restart), else no.
_rabbitmq_tls_conf_newer() {
    python3 - "$HUB_MANAGEMENT_URL/api/nodes" "$HUB_RABBITMQ_TLS_CONF" <<'PY' 2>/dev/null
import base64, json, os, sys, time, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Authorization": "Basic " + base64.b64encode(b"guest:guest").decode()})
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
with opener.open(req, timeout=3) as resp:
    nodes = json.load(resp)
uptime = max((n.get("uptime") or 0) for n in nodes) / 1000.0
booted = time.time() - uptime
print("yes" if uptime > 0 and os.path.getmtime(sys.argv[2]) > booted + 1 else "no")
PY
}

# _rabbitmq_restart_if_needed: restart the running node when its open-file limit is under
# HUB_RABBITMQ_MIN_FDS, or when the hub's TLS drop-in exists but the node has no listener on
# HUB_RABBITMQ_TLS_PORT (it read its config before the drop-in was written). Both are read only at boot,
# and one restart covers both: other users of the broker see one interruption, never two.
_rabbitmq_restart_if_needed() {
    local total reasons=()
    if total=$(_rabbitmq_fd_total); then
        if [ "${total:-0}" -eq 0 ]; then  # just booted: the node reports its limits a few seconds later
            _wait_for 30 _rabbitmq_fd_reported && total=$(_rabbitmq_fd_total) || total=0
        fi
        if [ "${total:-0}" -gt 0 ] && [ "$total" -lt "$HUB_RABBITMQ_MIN_FDS" ]; then
            reasons+=("open-file limit is $total (< $HUB_RABBITMQ_MIN_FDS; quorum queues hold ~5 files each)")
        fi
    fi
    if [ -f "$HUB_RABBITMQ_TLS_CONF" ] && [ "$(_rabbitmq_tls_listener)" = no ]; then
        reasons+=("no TLS listener on 127.0.0.1:$HUB_RABBITMQ_TLS_PORT yet ($HUB_RABBITMQ_TLS_CONF)")
    elif [ -f "$HUB_RABBITMQ_TLS_CONF" ] && [ "$(_rabbitmq_tls_conf_newer)" = yes ]; then
        reasons+=("$HUB_RABBITMQ_TLS_CONF changed since the node booted")
    fi
    [ ${#reasons[@]} -gt 0 ] || return 0
    _need_root "restarting RabbitMQ"
    _log "rabbitmq: restarting it: $(_join "${reasons[@]}")"
    _quiet rabbitmqctl-stop _as_root rabbitmqctl -q stop || _die "rabbitmqctl stop failed; $(_rabbitmq_logs_hint)"
    _rabbitmq_start_detached >/dev/null 2>&1 || true
    _wait_for 60 _tcp_open 127.0.0.1 5672 && _wait_for 60 _rabbitmq_api_ready require-hash ||
        _die "RabbitMQ did not come back within 60 s after the restart; $(_rabbitmq_logs_hint)"
    if [ -f "$HUB_RABBITMQ_TLS_CONF" ] && ! _wait_for 30 _rabbitmq_tls_listening; then
        _die "RabbitMQ restarted without a TLS listener on 127.0.0.1:$HUB_RABBITMQ_TLS_PORT ($HUB_RABBITMQ_TLS_CONF); $(_rabbitmq_logs_hint)"
    fi
    _wait_for 30 _rabbitmq_fd_reported || true
    total=$(_rabbitmq_fd_total) || true
    _log "rabbitmq: restarted; open-file limit now ${total:-unknown}"
}

# ensure_rabbitmq: install if missing, make the TLS certificates and listener config if missing, start
# if not running, wait for AMQP on 127.0.0.1:5672, enable the management and consistent-hash plugins,
# wait for the management API, and restart the node once if it lacks the open-file limit or the TLS
# listener on 127.0.0.1:5671.
ensure_rabbitmq() {
    local did=() installed=0
    local PATH="$PATH:/usr/sbin:/sbin"
    if ! command -v rabbitmq-server >/dev/null 2>&1; then
        _apt_install rabbitmq-server
        did+=("installed")
        installed=1
    fi
    # Before any start, so that a node started below boots with the TLS listener.
    _rabbitmq_tls_setup
    [ -z "$_HUB_RABBITMQ_TLS_DID" ] || did+=("$_HUB_RABBITMQ_TLS_DID")
    # Fast path (no Erlang CLI, which costs seconds): AMQP port open and management API up with the
    # consistent-hash exchange type registered means everything below is already done.
    if [ "$installed" -eq 0 ] && _tcp_open 127.0.0.1 5672 && _rabbitmq_api_ready require-hash; then
        _log "rabbitmq: already running (amqp 127.0.0.1:5672, management + consistent-hash plugins up)${_HUB_RABBITMQ_TLS_DID:+; $_HUB_RABBITMQ_TLS_DID}"
        _rabbitmq_restart_if_needed
        return 0
    fi
    # Debian's rabbitmq-* wrappers only run as root or as the rabbitmq user.
    _need_root "starting/configuring RabbitMQ"
    if ! _as_root rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
        local out status=0
        # The node may also be mid-boot (ping fails, start then says "already running"): so the
        # verdict is whether AMQP comes up, not the exit status of this command.
        out=$(_rabbitmq_start_detached 2>&1) || status=$?
        did+=("started")
        if ! _wait_for 60 _tcp_open 127.0.0.1 5672; then
            [ -z "$out" ] || printf 'rabbitmq-server -detached (exit %s): %s\n' "$status" "$out" >&2
            _die "RabbitMQ did not accept AMQP connections on 127.0.0.1:5672 within 60 s; $(_rabbitmq_logs_hint)"
        fi
    elif ! _wait_for 60 _tcp_open 127.0.0.1 5672; then
        _die "RabbitMQ node answers ping but nothing listens on 127.0.0.1:5672 after 60 s; $(_rabbitmq_logs_hint)"
    fi
    if ! _rabbitmq_api_ready require-hash; then
        _quiet rabbitmq-plugins _as_root rabbitmq-plugins -q enable "${HUB_RABBITMQ_PLUGINS[@]}" ||
            _die "rabbitmq-plugins enable ${HUB_RABBITMQ_PLUGINS[*]} failed"
        did+=("enabled plugins")
        _wait_for 60 _rabbitmq_api_ready require-hash ||
            _die "RabbitMQ management API $HUB_MANAGEMENT_URL/api/overview (guest:guest) not ready with x-consistent-hash within 60 s; $(_rabbitmq_logs_hint)"
    fi
    _rabbitmq_restart_if_needed
    [ ${#did[@]} -gt 0 ] || did=("already running")
    _log "rabbitmq: $(_join "${did[@]}"); amqp 127.0.0.1:5672 and management API ready"
}

# --- PostgreSQL -----------------------------------------------------------------------------------

_pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1; }

# _pg_version: set HUB_PG_VERSION to the newest version under /etc/postgresql (a global rather than
# output, so that _die really ends the script instead of a command substitution's subshell).
_pg_version() {
    # shellcheck disable=SC2012  # version directories are plain numbers
    HUB_PG_VERSION=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    [ -n "$HUB_PG_VERSION" ] ||
        _die "no PostgreSQL cluster under /etc/postgresql (is the postgresql package installed?)"
    [ -d "/etc/postgresql/$HUB_PG_VERSION/main" ] ||
        _die "no cluster 'main' under /etc/postgresql/$HUB_PG_VERSION (create it: pg_createcluster $HUB_PG_VERSION main)"
}

_psql() { psql -X -q -At -h 127.0.0.1 -p 5432 -U postgres "$@"; }

# _pg_trust_loopback VERSION: development setup of a cluster this script just installed: trust auth
# for local sockets and loopback TCP (the tests connect without a password).
_pg_trust_loopback() {
    local hba="/etc/postgresql/$1/main/pg_hba.conf"
    _as_root cp -n "$hba" "$hba.orig" 2>/dev/null || true
    printf '%s\n' \
        '# Written by scripts/lib.sh for a development/CI machine: trust on loopback only.' \
        '# The packaged original is kept next to this file as pg_hba.conf.orig.' \
        'local   all   all                 trust' \
        'host    all   all   127.0.0.1/32  trust' \
        'host    all   all   ::1/128       trust' |
        _as_root tee "$hba" >/dev/null
}

# ensure_postgres: install if missing, start if not accepting connections on 127.0.0.1:5432, wait up
# to 30 s, and make sure the `test` database exists.
ensure_postgres() {
    local did=() installed=0
    local PATH="$PATH:/usr/sbin:/sbin"
    if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! command -v pg_isready >/dev/null 2>&1 ||
        [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
        _apt_install postgresql
        installed=1
        did+=("installed")
        _pg_version
        _pg_trust_loopback "$HUB_PG_VERSION"
        did+=("configured trust auth on loopback")
        # The package may have started the cluster already; pick up the new pg_hba.conf.
        if _pg_ready; then
            _quiet pg-reload _as_root pg_ctlcluster --skip-systemctl-redirect "$HUB_PG_VERSION" main reload ||
                _die "could not reload PostgreSQL $HUB_PG_VERSION/main"
        fi
    fi
    if ! _pg_ready; then
        _pg_version
        _need_root "starting PostgreSQL"
        local v=$HUB_PG_VERSION status=0
        # A non-zero exit (e.g. "cluster is already running" while it is still recovering) is reported
        # by _quiet; the verdict is whether it accepts connections in time.
        _quiet pg-start _as_root pg_ctlcluster --skip-systemctl-redirect "$v" main start || status=$?
        did+=("started $v/main")
        _wait_for 30 _pg_ready ||
            _die "PostgreSQL $v/main did not accept connections on 127.0.0.1:5432 within 30 s (pg_ctlcluster exit $status); see /var/log/postgresql/postgresql-$v-main.log"
    fi
    # The tests use database `test` on 127.0.0.1:5432 with trust auth.
    local has_db
    if has_db=$(_psql -d postgres -c "select 1 from pg_database where datname = 'test'" 2>&1); then
        if [ "$has_db" != "1" ]; then
            _quiet createdb createdb -h 127.0.0.1 -p 5432 -U postgres test || _die "createdb test failed"
            did+=("created database test")
        fi
    else
        local msg="cannot connect to PostgreSQL on 127.0.0.1:5432 as postgres without a password ($has_db); \
the tests expect trust auth on loopback (pg_hba.conf: 'host all all 127.0.0.1/32 trust')"
        if [ "$installed" -eq 1 ] || [ "${CI:-}" = "true" ]; then
            _die "$msg"
        fi
        _warn "$msg"
    fi
    [ ${#did[@]} -gt 0 ] || did=("already running")
    _log "postgres: $(_join "${did[@]}"); accepting connections on 127.0.0.1:5432 (database test)"
}

# --- Chromium and promtool (test tools) ----------------------------------------------------------

# ensure_chromium: Debian's chromium for the browser-driven console tests (tests/test_console_browser.py,
# Playwright with executable_path=/usr/bin/chromium: no browser is ever downloaded), and promtool (Debian's
# prometheus package) for the alert-rule tests. Playwright's Python package comes with .[dev] (ensure_venv).
ensure_chromium() {
    local missing=()
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
    if [ "${#missing[@]}" -eq 0 ]; then
        _log "chromium, promtool: already installed (/usr/bin/chromium, $(command -v promtool))"
        return
    fi
    _apt_install "${missing[@]}"
    [ -x /usr/bin/chromium ] || _die "chromium was installed but /usr/bin/chromium is missing"
    command -v promtool >/dev/null 2>&1 || _die "prometheus was installed but promtool is missing"
    _log "chromium, promtool: installed ($(_join "${missing[@]}"))"
}
