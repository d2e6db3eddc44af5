"""Real stores for the sink plugins' end-to-end tests, started by the tests
themselves on free ports in the test's directory, and the inputs and
expected rows those tests compare."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
import harness as h  # noqa: E402

HERE = os.path.dirname(__file__)

# simple_map_filter over the topic "metrics", for a sink step to follow.
STEPS = """source: {name: in, stream_name: metrics}
steps:
  - {kind: filter, name: filter, plugin: ingest_metrics, function: is_counter}
  - {kind: map, name: transform, plugin: ingest_metrics, function: transform}
"""


def deployment(sinks, source_extra=""):
    """A deployment reading "metrics" from the start; `source_extra` is YAML
    lines under the source (indented 10), `sinks` the steps_config entries
    of the sinks (indented 8)."""
    return f"""pipeline:
  segments:
    - steps_config:
        in:
          bootstrap_servers: ["${{envvar:BOOTSTRAP_SERVERS}}"]
          auto_offset_reset: earliest
          override_params: {{session.timeout.ms: "6000"}}
{source_extra}{sinks}"""


class HttpReceiver:
    """tests/e2e/stores/http_receiver.py in a process of its own; stop()
    and start() again keep its port and file."""

    def __init__(self, env, out, reject="", port=0, header="", busy=0, retry_after=None):
        self.env, self.out, self.reject, self.port = env, out, reject, port
        self.header, self.busy, self.retry_after = header, busy, retry_after
        self.start()

    def start(self):
        args = [sys.executable, os.path.join(HERE, "http_receiver.py"), "--out", self.out,
                "--port", str(self.port)]
        if self.reject:
            args += ["--reject", self.reject]
        if self.header:
            args += ["--header", self.header]
        if self.busy:
            args += ["--busy", str(self.busy)]
        if self.retry_after is not None:
            args += ["--retry-after", str(self.retry_after)]
        self.proc = self.env.spawn(args, f"receiver{len(self.env.procs)}")
        log = self.env.path(self.proc.log_name + ".out")

        def listening():
            if self.proc.poll() is not None:
                raise AssertionError(f"the receiver exited: {self.env.log(self.proc)}")
            with open(log) as f:
                line = f.readline().strip()
            return line.startswith("port=") and int(line[5:])
        self.port = h.wait_for(listening, 20, "the HTTP receiver to listen")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def metric_inputs(count, reject_every=0):
    """IngestMetric records: mostly counters (kept by simple_map_filter),
    every 5th a set (filtered out); with `reject_every`, every such counter
    is named "c:reject-me/N" (a row the test's store refuses)."""
    out = []
    for i in range(count):
        kind = "s" if i % 5 == 4 else "c"
        name = f"c:reject-me/{i}" if reject_every and i % reject_every == 0 and kind == "c" \
            else f"c:metric/{i}"
        out.append(json.dumps({"org_id": 1, "project_id": i % 7, "name": name, "tags": {},
                               "timestamp": 1846062325 + i, "type": kind,
                               "retention_days": 90, "value": [i]}).encode())
    return out


def canonical(row):
    return json.dumps(json.loads(row), sort_keys=True)


def expected_rows(inputs, refused=None):
    """simple_map_filter's output of `inputs`, canonical JSON text."""
    rows = []
    for value in inputs:
        record = json.loads(value)
        if record["type"] != "c" or (refused and refused in record["name"]):
            continue
        record["transformed"] = True
        rows.append(json.dumps(record, sort_keys=True))
    return rows


def rows(path):
    """The received NDJSON rows, canonical; a last line still being written
    (no newline yet) is left for the next look."""
    with open(path, "rb") as f:
        data = f.read()
    data = data[:data.rfind(b"\n") + 1]
    return [canonical(line) for line in data.splitlines() if line.strip()]


def diff(got, wanted):
    g, w = set(got), set(wanted)
    return (f"{len(got)} rows ({len(g)} distinct), {len(wanted)} wanted; missing "
            f"{sorted(w - g)[:3]}, unexpected {sorted(g - w)[:3]}")


def metric_value(n):
    """The steady stream's record n: a counter that simple_map_filter keeps."""
    return json.dumps({"org_id": 1, "project_id": n % 7, "name": f"c:metric/{n}", "tags": {},
                       "timestamp": 1846062325 + n, "type": "c", "retention_days": 90,
                       "value": [n]}).encode()


def numbers(rows_):
    """The stream numbers of canonical rows (their "value": [n])."""
    return [json.loads(r)["value"][0] for r in rows_]


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def cpu_seconds(pid):
    """User and system CPU seconds of every thread of `pid` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Drill:
    """The faults every sink is tested under, on a steady stream of
    numbered counters (`metric_value`) into `topic`: kill -9 `kills` times
    mid-stream, then the store stopped `outage` seconds under load. `store`
    has rows() (canonical rows), stop() and start(). The host commits
    nothing whose row the store lacks, its memory stays under `bound` bytes
    over its size before the outage, it waits for the store without
    spinning (under half a core), and every number lands in the store."""

    def __init__(self, env, store, pipeline, deployment, topic, partitions, bound, sinks):
        # Under ASan freed memory waits in a quarantine that counts as
        # resident; the bound is about what the host keeps.
        os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1"
        self.env, self.store, self.topic, self.partitions = env, store, topic, partitions
        self.sinks = sinks  # the sink steps' names: /readyz names one while the store is down
        self.pipeline, self.deployment, self.bound = pipeline, deployment, bound
        self.bootstrap = env.start_broker([f"{topic}:{partitions}"])
        self.inputs = h.partitions(topic, partitions)

    def host(self, name, extra=()):
        return self.env.start_host(self.pipeline, self.deployment, self.bootstrap, name=name,
                                   extra=extra)

    def check_unready(self, port):
        """/readyz fails, naming a sink, while the store is down."""
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5)
            raise AssertionError("/readyz answered 200 with the store down")
        except urllib.error.HTTPError as e:
            body = e.read().decode()
            assert e.code == 503, (e.code, body)
        assert any(f"sink {name} (plugin " in body for name in self.sinks), body
        assert "without a delivery report" in body, body

    def stored(self):
        return set(numbers(self.store.rows()))

    def end_outage(self, host):
        """Starts the store again, and checks that every input below its
        partition's committed offset has its row. The host is stopped
        (SIGSTOP) meanwhile, so that what it commits and stores is still
        what it was at the outage's end: a store that is down may not be
        readable."""
        os.kill(host.pid, signal.SIGSTOP)
        try:
            committed = h.committed_offsets(self.bootstrap, "pipeline-in", self.inputs)
            self.store.start()
            have = self.stored()
            where = self.where()
        finally:
            os.kill(host.pid, signal.SIGCONT)
        lost = [n for n, (p, off) in where.items() if off < committed[p] and n not in have]
        assert not lost, ("committed without a row", lost[:10], committed)

    def run(self, kills=5, outage=30):
        producer = h.SteadyProducer(self.bootstrap, self.topic, keys=64, value=metric_value)
        producer.start()
        try:
            for i in range(kills):
                host = self.host(f"host{i}")
                target = len(self.stored()) + 300
                h.wait_for(lambda: len(self.stored()) >= target or host.poll() is not None,
                           90, f"host{i} to write rows")
                assert host.poll() is None, self.env.log(host)
                os.killpg(host.pid, signal.SIGKILL)
                host.wait()
            host = self.host("outage", ["--admin-port", "0", "--readiness-commit-age-ms", "5000"])
            port = h.admin_port(self.env, host)
            target = len(self.stored()) + 300
            h.wait_for(lambda: len(self.stored()) >= target, 90, "rows before the outage")
            baseline = rss(host.pid)
            self.store.stop()
            cpu_before, since = cpu_seconds(host.pid), time.monotonic()
            peak, end = baseline, time.monotonic() + outage

            def sample():
                nonlocal peak
                peak = max(peak, rss(host.pid))
                return time.monotonic() >= end
            h.wait_for(sample, outage + 10, f"the {outage} s outage")  # samples every 50 ms
            assert host.poll() is None, self.env.log(host)
            busy = (cpu_seconds(host.pid) - cpu_before) / (time.monotonic() - since)
            print(f"host CPU while the store was down: {busy:.0%} of a core")
            assert busy < 0.5, f"the host used {busy:.0%} of a core waiting for the store"
            self.check_unready(port)
            self.end_outage(host)
            total = producer.finish()
            h.wait_committed_to_end(self.bootstrap, "pipeline-in", self.inputs, timeout=120)
            assert self.env.stop(host) == 0, self.env.log(host)
        finally:
            producer.done.set()
        missing = sorted(set(range(total)) - self.stored())
        assert not missing, (len(missing), missing[:10])
        growth = peak - baseline
        assert growth < self.bound, (growth, self.bound)
        print(f"{kills} kills and a {outage} s outage: all {total} rows, RSS growth "
              f"{growth >> 20} MiB (bound {self.bound >> 20} MiB)")
        return total

    def where(self):
        """Stream number -> (partition, offset) of its input."""
        return {json.loads(r.value)["value"][0]: (r.partition, r.offset)
                for r in h.read_all(self.bootstrap, self.inputs)}


def _as_nobody():
    """preexec_fn: PostgreSQL refuses to run as root; tests run as root in CI."""
    if os.getuid() == 0:
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)


class Postgres:
    """A PostgreSQL server of Debian's `postgresql` package, initialised in
    the test's directory and listening on a free loopback port (as nobody
    when the test runs as root). sql() runs a statement through psql."""

    def __init__(self, env, prefix=()):
        import glob
        self.prefix = list(prefix)  # before the server's command (taskset)
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        assert bins, "PostgreSQL is not installed (install-deps.sh installs postgresql)"
        self.bin = os.path.dirname(bins[-1])
        self.env = env
        os.chmod(env.dir, 0o711)  # nobody reaches its own directory below
        self.data = env.path("pgdata")
        os.mkdir(self.data, 0o700)
        if os.getuid() == 0:
            os.chown(self.data, 65534, 65534)
        self.port = h.free_port()
        result = subprocess.run(
            [f"{self.bin}/initdb", "-D", self.data, "-U", "streams", "--auth=trust", "-E", "UTF8",
             "--no-sync", "--no-instructions"],
            capture_output=True, text=True, preexec_fn=_as_nobody)
        assert result.returncode == 0, result.stderr
        self.start()

    @property
    def conninfo(self):
        return f"host=127.0.0.1 port={self.port} dbname=postgres user=streams"

    def start(self):
        self.proc = self.env.spawn(
            [*self.prefix, f"{self.bin}/postgres", "-D", self.data, "-p", str(self.port), "-k", self.data,
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off"],
            f"postgres{len(self.env.procs)}", preexec_fn=_as_nobody)
        h.wait_for(lambda: self.proc.poll() is not None or self.ready(), 60,
                   "PostgreSQL to accept connections")
        assert self.proc.poll() is None, self.env.log(self.proc)

    def ready(self):
        try:
            self.sql("SELECT 1")
            return True
        except AssertionError:
            return False

    def stop(self):
        """A fast shutdown: sessions are ended, as when a server goes away."""
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=60)

    def sql(self, statement):
        result = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "streams", "-d", "postgres",
             "-v", "ON_ERROR_STOP=1", "-At", "-c", statement], capture_output=True, text=True)
        if result.returncode != 0:
            raise AssertionError(f"psql: {statement}: {result.stderr}")
        return [line for line in result.stdout.splitlines() if line]


class ClickHouse:
    """A ClickHouse server of Debian's `clickhouse-server` package, with its
    data in the test's directory and its HTTP and native ports free
    loopback ones. query() runs a statement over the HTTP interface."""

    CONFIG = """<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <http_port>{http}</http_port>
  <tcp_port>{tcp}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{dir}/data/</path>
  <tmp_path>{dir}/tmp/</tmp_path>
  <user_files_path>{dir}/user_files/</user_files_path>
  <format_schema_path>{dir}/format_schemas/</format_schema_path>
  <users_config>{dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
</yandex>
"""
    USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default/></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default/></quotas>
</yandex>
"""

    def __init__(self, env, prefix=()):
        import shutil
        self.prefix = list(prefix)  # before the server's command (taskset)
        self.server = shutil.which("clickhouse-server")
        assert self.server, "ClickHouse is not installed (install-deps.sh installs clickhouse-server)"
        self.env, self.dir = env, env.path("clickhouse")
        os.makedirs(self.dir)
        self.http, self.tcp = h.free_port(), h.free_port()
        with open(os.path.join(self.dir, "config.xml"), "w") as f:
            f.write(self.CONFIG.format(http=self.http, tcp=self.tcp, dir=self.dir))
        with open(os.path.join(self.dir, "users.xml"), "w") as f:
            f.write(self.USERS)
        self.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.http}"

    def start(self):
        self.proc = self.env.spawn(
            [*self.prefix, self.server, f"--config-file={self.dir}/config.xml"],
            f"clickhouse{len(self.env.procs)}")
        h.wait_for(lambda: self.proc.poll() is not None or self.ready(), 60,
                   "ClickHouse to answer")
        assert self.proc.poll() is None, self.env.log(self.proc)

    def ready(self):
        try:
            return self.query("SELECT 1") == "1\n"
        except OSError:
            return False

    def stop(self):
        """SIGKILL: a server gone at once (an inserted part is in its files)."""
        self.proc.kill()
        self.proc.wait(timeout=60)

    def query(self, statement):
        request = urllib.request.Request(self.url + "/", data=statement.encode())
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return r.read().decode()
        except urllib.error.HTTPError as e:
            raise AssertionError(f"ClickHouse: {statement}: {e.read().decode()}")

    def rows(self, sql):
        """JSON objects of `sql` (FORMAT JSONEachRow is appended)."""
        return [json.loads(line) for line in self.query(sql + " FORMAT JSONEachRow").splitlines()]


S3RVER = "/usr/local/lib/streams-tests/node_modules/.bin/s3rver"


class ObjectStore:
    """s3rver (an S3-compatible server from the npm registry, which
    install-deps.sh installs under /usr/local/lib/streams-tests) with its
    files in the test's directory, on a free loopback port, with `bucket`.
    objects() reads the bucket through the S3 API, unsigned (s3rver allows
    it)."""

    def __init__(self, env, bucket):
        assert os.path.exists(S3RVER), "s3rver is not installed (install-deps.sh installs it)"
        self.env, self.bucket = env, bucket
        self.dir, self.port = env.path("s3"), h.free_port()
        os.makedirs(self.dir)
        self.start()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def sink_entry(self, sink):
        """The deployment's steps_config entry (indented 8) that points sink
        `sink` at this store, through ${envvar:} as a user's would: sets
        S3_ENDPOINT, S3_KEY and S3_SECRET."""
        os.environ.update(S3_ENDPOINT=self.endpoint, S3_KEY="S3RVER", S3_SECRET="S3RVER")
        return f"""        {sink}:
          config:
            endpoint: "${{envvar:S3_ENDPOINT}}"
            access_key: "${{envvar:S3_KEY}}"
            secret_key: "${{envvar:S3_SECRET}}"
"""

    def start(self):
        # s3rver 3.7 makes continuation tokens (a listing of more than a
        # page) with a cipher OpenSSL 3 keeps in its legacy provider.
        env = dict(os.environ, NODE_OPTIONS="--openssl-legacy-provider")
        self.proc = self.env.spawn(
            [S3RVER, "-d", self.dir, "-p", str(self.port), "-a", "127.0.0.1",
             "--configure-bucket", self.bucket, "--silent"], f"s3rver{len(self.env.procs)}", env=env)
        h.wait_for(lambda: self.proc.poll() is not None or self.ready(), 60, "s3rver to answer")
        assert self.proc.poll() is None, self.env.log(self.proc)

    def ready(self):
        try:
            self.get(f"/{self.bucket}?list-type=2&max-keys=1")
            return True
        except OSError:
            return False

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=60)

    def get(self, target):
        """The body of a GET. s3rver answers 500 to a read that meets a PUT
        of its own halfway (it parses an object's metadata file while the
        PUT has truncated it but not yet written it); such reads are asked
        again, for up to 30 s. Other errors are raised."""
        def attempt():
            try:
                with urllib.request.urlopen(self.endpoint + target, timeout=30) as r:
                    return (r.read(),)
            except urllib.error.HTTPError as e:
                if e.code != 500:
                    raise
                return None
        return h.wait_for(attempt, 30, f"s3rver to answer GET {target} without a 500")[0]

    def keys(self, prefix=""):
        import re
        import urllib.parse
        keys, after = [], ""
        while True:
            page = self.get(f"/{self.bucket}?list-type=2&prefix={urllib.parse.quote(prefix)}"
                            f"&start-after={urllib.parse.quote(after)}").decode()
            found = re.findall(r"<Key>([^<]*)</Key>", page)
            keys += found
            if "<IsTruncated>true</IsTruncated>" not in page or not found:
                return keys
            after = found[-1]

    def objects(self, prefix=""):
        """{key: body}, zstd bodies decompressed. A key listed but gone by
        its GET is left out: the sink deletes a partial object (one its
        killed predecessor left) before it writes it again. Leaving it out
        can only make rows missing, never add any."""
        import urllib.parse
        out = {}
        for key in self.keys(prefix):
            try:
                body = self.get(f"/{self.bucket}/{urllib.parse.quote(key)}")
            except urllib.error.HTTPError as e:
                if e.code == 404:
                    continue
                raise
            if key.endswith(".zst"):
                body = subprocess.run(["zstd", "-dc"], input=body, capture_output=True,
                                      check=True).stdout
            out[key] = body
        return out

    def rows(self):
        return [canonical(line) for body in self.objects().values()
                for line in body.splitlines() if line.strip()]

    def put_partial(self, key, body):
        """What a PUT of `body` under `key` leaves when its client dies
        halfway (the Content-Length promises twice the bytes sent): s3rver
        keeps and lists the part it received."""
        import socket
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(f"PUT /{self.bucket}/{key} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"Content-Length: {2 * len(body)}\r\n\r\n".encode() + body)
        h.wait_for(lambda: key in self.keys(key), 20, f"s3rver to list the partial {key}")

    def check_objects(self):
        """Per partition directory: object ranges (FIRST-LAST in the names)
        neither repeat nor overlap. Returns the number of objects."""
        ranges = {}
        for key in self.keys():
            directory, name = key.rsplit("/", 1)
            first, last = name.split(".")[0].split("-")
            ranges.setdefault(directory, []).append((int(first), int(last)))
        for directory, spans in ranges.items():
            spans.sort()
            for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
                assert a1 < b0, f"objects overlap in {directory}: {a0}-{a1} and {b0}-{b1}"
        return sum(len(s) for s in ranges.values())
