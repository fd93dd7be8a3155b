# shellcheck shell=bash
#
# Shared pieces of the test harness scripts (up, down, kafka-stop,
# kafka-start, kafka-tool). Sourced, never run.
#
# State directory layout ($PGCDC_HARNESS_DIR, default
# /tmp/pgcdc-harness-<checkout>-<hash of the checkout's path>, so that each
# checkout has its own servers and `down` never stops another checkout's):
#   env                  the export lines that `up` prints
#   pg/data              PostgreSQL cluster, owned by the user postgres
#   pg/                  also the unix socket directory (.s.PGSQL.<port>)
#   pg/postgresql.log    server log
#   kafka/server.properties, kafka/log4j2.xml, kafka/data, kafka/kafka.log,
#   kafka/kafka.pid, kafka/ports
#   registry/registry.log, registry/registry.pid, registry/port
#
# Cache directory ($PGCDC_HARNESS_CACHE, default ~/.cache/pgcdc-harness):
#   jars-kafka-<version>/       Kafka jars from Maven Central
#   apicurio-<version>/         unpacked Apicurio Registry distribution
# The cache survives `down`; it is filled on first use by Maven.
#
# Port reservations ($PGCDC_HARNESS_PORTS, default /tmp/pgcdc-harness-ports),
# shared by every harness on the machine: one file per port, naming the
# state directory that holds it (see free_port).

set -eEuo pipefail
trap 'printf "harness: error: line %s of %s failed: %s\n" "$LINENO" "${BASH_SOURCE[0]##*/}" "$BASH_COMMAND" >&2' ERR

HARNESS_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The default state directory belongs to the checkout the scripts are in.
default_state() {
	local root name
	root=$(cd "$HARNESS_SRC/../.." && pwd -P)
	name=$(basename "$root" | tr -c 'A-Za-z0-9._\n-' '_')
	echo "/tmp/pgcdc-harness-$name-$(printf '%s' "$root" | sha1sum | cut -c1-8)"
}
STATE=$(realpath -m "${PGCDC_HARNESS_DIR:-$(default_state)}")
PORTS=${PGCDC_HARNESS_PORTS:-/tmp/pgcdc-harness-ports}
CACHE=${PGCDC_HARNESS_CACHE:-${HOME:-/root}/.cache/pgcdc-harness}
PGBIN=${PGCDC_PGBIN:-/usr/lib/postgresql/15/bin}
PG_OS_USER=postgres

# the system python starts fastest (version-manager shims are slow)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || PY=python3

log() { printf 'harness: [%3ss] %s\n' "$SECONDS" "$*" >&2; }

die() {
	log "error: $*"
	exit 1
}

# Prints the last 30 lines of a server log to stderr, then fails.
fail_with_log() { # name logfile message
	log "error: $1: $3"
	if [ -f "$2" ]; then
		log "last 30 lines of $2:"
		tail -n 30 "$2" >&2
	fi
	exit 1
}

pom_prop() { # name -> value of <name> in pom.xml
	sed -n "s:.*<$1>\\(.*\\)</$1>.*:\\1:p" "$HARNESS_SRC/pom.xml" | head -n 1
}

KAFKA_VERSION=$(pom_prop kafka.version)
APICURIO_VERSION=$(pom_prop apicurio.version)
KAFKA_JARS=$CACHE/jars-kafka-$KAFKA_VERSION
APICURIO_HOME=$CACHE/apicurio-$APICURIO_VERSION

# Prints a free TCP port on 127.0.0.1 and reserves it for this state
# directory. A port the kernel hands out for bind(0) comes from its
# ephemeral range, the range that every connect() and every other bind(0)
# on the machine draws from (librdkafka's mock brokers in the unit tests,
# other harnesses, client connections): between the choice and the
# server's own bind, seconds later while a JVM starts, another process
# could take it, and the server's start failed. So the port comes from
# below that range, where the kernel never allocates, and is reserved under
# a machine-wide lock in $PORTS; a reservation lasts while its state
# directory exists.
free_port() {
	"$PY" - "$STATE" "$PORTS" <<'EOF'
import fcntl, os, random, socket, sys

state, ports = sys.argv[1], sys.argv[2]
with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
    ephemeral = [int(x) for x in f.read().split()]
first, last = 20000, ephemeral[0] - 1
if last - first < 2000:  # an unusual ephemeral range: take the ports above it
    first, last = ephemeral[1] + 1, 65535
os.makedirs(ports, exist_ok=True)
try:
    os.chmod(ports, 0o1777)  # shared by every user's harness
except PermissionError:
    pass
with open(os.path.join(ports, ".lock"), "a") as lock:
    try:
        os.fchmod(lock.fileno(), 0o666)
    except PermissionError:
        pass
    fcntl.flock(lock, fcntl.LOCK_EX)
    for _ in range(2000):
        port = random.randint(first, last)
        path = os.path.join(ports, str(port))
        try:
            with open(path) as f:
                owner = f.read().strip()
        except FileNotFoundError:
            owner = ""
        if owner and os.path.isdir(owner):
            continue  # held by a harness whose state directory is still there
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))  # no SO_REUSEADDR: any use of the port refuses
        except OSError:
            continue
        finally:
            s.close()
        try:
            with open(path + ".tmp", "w") as f:
                f.write(state + "\n")
            os.replace(path + ".tmp", path)
        except OSError:
            continue  # a stale reservation of another user's
        print(port)
        sys.exit(0)
sys.exit(f"harness: no free port in {first}-{last}")
EOF
}

# Drops the port reservations of this state directory.
free_ports_release() {
	local f
	for f in "$PORTS"/[0-9]*; do
		[ -f "$f" ] || continue
		[ "$(cat "$f" 2>/dev/null)" != "$STATE" ] || rm -f "$f"
	done
}

port_open() { # port
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# True when the pid file names a live process whose command line contains
# the state directory (so a pid reused after a reboot does not count).
pid_alive() { # pidfile
	local pid
	[ -f "$1" ] || return 1
	pid=$(cat "$1" 2>/dev/null) || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$STATE/"
}

# Waits until the process just started into pidfile has exec'd its server
# or exited. Until the exec its command line is the forking shell's, which
# does not name the state directory, so pid_alive would take a server that
# is starting (slowly, on a loaded machine) for one that died.
await_exec() { # pidfile
	local pid i
	pid=$(cat "$1")
	for ((i = 0; i < 600; i++)); do
		pid_alive "$1" && return 0
		kill -0 "$pid" 2>/dev/null || return 0 # exited; the caller says so
		sleep 0.05
	done
}

# Sends a signal to the process in pidfile and waits for it to exit;
# after timeout seconds it is killed. Removes the pid file.
stop_pidfile() { # pidfile signal timeout
	local pid i
	if ! pid_alive "$1"; then
		rm -f "$1"
		return 0
	fi
	pid=$(cat "$1")
	kill "-$2" "$pid" 2>/dev/null || true
	for ((i = 0; i < $3 * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "pid $pid still running after $3 s, killing it"
		kill -KILL "$pid" 2>/dev/null || true
		while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	fi
	rm -f "$1"
}

# Runs a command as the postgres OS user when we are root, as ourselves
# otherwise (initdb and postgres refuse to run as root).
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$PG_OS_USER" -- "$@"
	else
		"$@"
	fi
}

kafka_running() { pid_alive "$STATE/kafka/kafka.pid"; }

# True when the postmaster of the harness cluster is alive (by its pid file
# and command line: pg_ctl status takes an unreaped dead postmaster for a
# live one).
pg_running() {
	local pid
	[ -f "$STATE/pg/data/postmaster.pid" ] || return 1
	pid=$(head -n 1 "$STATE/pg/data/postmaster.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$STATE/pg/data"
}

# Starts the broker from an already formatted state directory in the
# background; kafka_wait then waits until it serves requests.
kafka_spawn() {
	local k=$STATE/kafka port
	[ -d "$KAFKA_JARS" ] || die "kafka jars missing in $KAFKA_JARS (run tests/harness/up)"
	for port in $(sed -n 's/^[a-z]*=//p' "$k/ports"); do
		if port_open "$port"; then
			fail_with_log kafka "$k/kafka.log" "port $port is taken by another process"
		fi
	done
	echo "---- start $(date '+%F %T')" >>"$k/kafka.log"
	stat -c %s "$k/kafka.log" >"$k/start-offset"
	setsid java -Xms512m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$k/log4j2.xml" \
		-cp "$KAFKA_JARS/*" kafka.Kafka "$k/server.properties" \
		</dev/null >>"$k/kafka.log" 2>&1 9>&- &
	echo $! >"$k/kafka.pid"
	await_exec "$k/kafka.pid"
}

# Waits for the "started" line written to the log since kafka_spawn, and
# for the listener to accept connections.
kafka_wait() {
	local k=$STATE/kafka bport from i
	bport=$(sed -n 's/^broker=//p' "$k/ports")
	from=$(($(cat "$k/start-offset") + 1))
	for ((i = 0; i < 900; i++)); do
		kafka_running || fail_with_log kafka "$k/kafka.log" "the broker exited during start"
		if grep -q 'Kafka Server started' < <(tail -c "+$from" "$k/kafka.log") && port_open "$bport"; then
			return 0
		fi
		sleep 0.1
	done
	fail_with_log kafka "$k/kafka.log" "the broker did not start within 90 s"
}
