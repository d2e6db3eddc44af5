"""End-to-end test harness: real processes, real Kafka protocol.

Each test owns its ports, temporary directory and processes; everything is
cleaned up even when the test fails. Waiting is always polling with a
deadline. Paths come from the environment set by CTest.
"""
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

from kafka import KafkaConsumer as _KafkaConsumer
from kafka import KafkaProducer as _KafkaProducer
from kafka import TopicPartition
from kafka.errors import NoBrokersAvailable

HOST = os.environ["STREAMS_HOST"]
# The dev broker's binary: the host under test unless set (the ThreadSanitizer
# phase runs an uninstrumented one: its bind() interposer and TSan's clash).
BROKER_HOST = os.environ.get("STREAMS_BROKER_HOST") or HOST
PLUGINS_DIR = os.environ["STREAMS_PLUGINS_DIR"]
TEST_PLUGINS_DIR = os.environ["STREAMS_TEST_PLUGINS_DIR"]
SOURCE_DIR = os.environ["STREAMS_SOURCE_DIR"]
BUILD_DIR = os.environ["STREAMS_BUILD_DIR"]
EXAMPLE_DIR = os.path.join(SOURCE_DIR, "configs", "simple_map_filter")


# kafka-python probes the broker's API versions when a client is created and
# gives up after 2 s by default; a dev broker under ASan on a loaded 2-core
# machine may answer later than that. One refused or reset connection also
# makes it give up at once (NoBrokersAvailable): a new client is tried then.
_PROBE = {"api_version_auto_timeout_ms": 30000}


def _connected(make, what):
    def attempt():
        try:
            return make()
        except NoBrokersAvailable:
            return None
    return wait_for(attempt, 60, what)


def KafkaProducer(**kwargs):  # noqa: N802 (kafka-python's name, with our probe and retry)
    return _connected(lambda: _KafkaProducer(**{**_PROBE, **kwargs}), "a producer's connection")


def KafkaConsumer(*topics, **kwargs):  # noqa: N802
    return _connected(lambda: _KafkaConsumer(*topics, **{**_PROBE, **kwargs}),
                      "a consumer's connection")


def deployment(source="in", sink="out", source_extra="", params=""):
    """A one-segment deployment config on $BOOTSTRAP_SERVERS that reads from
    the beginning; `source_extra` is YAML added under the source step, and
    `params` ("key: value, ...") librdkafka settings added to its
    override_params."""
    extra = "".join(f"\n          {line}" for line in source_extra.splitlines())
    params = f", {params}" if params else ""
    return f"""pipeline:
  segments:
    - steps_config:
        {source}:
          bootstrap_servers: ["${{envvar:BOOTSTRAP_SERVERS}}"]
          auto_offset_reset: earliest
          override_params: {{session.timeout.ms: "6000"{params}}}{extra}
        {sink}: {{bootstrap_servers: ["${{envvar:BOOTSTRAP_SERVERS}}"]}}
"""


# A pipeline over the testkit plugin using every branching step kind; fill
# in %(file)s, the path of the file sink.
TESTKIT_TREE = """source: {name: in, stream_name: in}
steps:
  - {kind: flat_map, name: split, plugin: testkit, function: split}
  - kind: route
    name: by_prefix
    plugin: testkit
    function: by_prefix
    branches:
      a:
        - {kind: map, name: upper, plugin: testkit, function: upper}
        - {kind: sink, name: a_out, stream_name: a-out}
      b:
        - kind: broadcast
          name: b_both
          branches:
            kafka: [{kind: sink, name: b_out, stream_name: b-out}]
            file: [{kind: sink, name: b_file, type: file, path: %(file)s}]
            nowhere: [{kind: sink, name: b_null, type: devnull}]
      h:
        - {kind: header_filter, name: only_eu, header: region, value: eu}
        - {kind: sink, name: h_out, stream_name: h-out}
"""


# How much slower than an optimised build the processes under test run:
# bounds that a test asserts (not deadlines of waits) are multiplied by it.
# packaging/test.sh sets it for the ThreadSanitizer phase.
TIME_SCALE = float(os.environ.get("STREAMS_TEST_TIME_SCALE", "1"))


def wait_for(predicate, timeout, what):
    """Polls predicate() until it returns a truthy value or timeout expires."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def wait_progress(measure, target, stall, what):
    """Polls measure() until it reaches `target`; fails only when it has not
    grown for `stall` seconds. For waits whose length depends on the CPU
    share a loaded machine gives the host: slow is fine, stuck is not."""
    best, moved = None, time.monotonic()
    while True:
        value = measure()
        if value >= target:
            return value
        if best is None or value > best:
            best, moved = value, time.monotonic()
        if time.monotonic() - moved > stall:
            raise AssertionError(f"no progress for {stall}s waiting for {what}: "
                                 f"{value} of {target}")
        time.sleep(0.05)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Env(contextlib.ExitStack):
    """A test's scratch directory and child processes, torn down on exit."""

    def __enter__(self):
        super().__enter__()
        self.dir = tempfile.mkdtemp(prefix="streams-e2e-")
        self.procs = []
        self.callback(self._cleanup)
        return self

    def _cleanup(self):
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if os.environ.get("STREAMS_KEEP_E2E_DIR"):
            print(f"kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text):
        os.makedirs(os.path.dirname(self.path(name)), exist_ok=True)
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)

    def spawn(self, args, log_name, env=None, preexec_fn=None):
        out = open(self.path(log_name + ".out"), "w")
        err = open(self.path(log_name + ".err"), "w")
        proc = subprocess.Popen(args, stdout=out, stderr=err, env=env,
                                start_new_session=True, preexec_fn=preexec_fn)
        proc.log_name = log_name
        self.procs.append(proc)
        return proc

    def log(self, proc):
        with open(self.path(proc.log_name + ".err")) as f:
            return f.read()

    def output(self, proc):
        """What `proc` wrote on stdout so far (the dev broker's lines)."""
        with open(self.path(proc.log_name + ".out")) as f:
            return f.read()

    def start_broker(self, topics, prefix=(), extra=()):
        """Starts `streams-host dev-broker` (after `prefix`, e.g. a taskset
        command, with `extra` options); returns its bootstrap string."""
        for attempt in range(5):
            port = free_port()
            args = [*prefix, BROKER_HOST, "dev-broker", "--port", str(port), *extra]
            for topic in topics:
                args += ["--topic", topic]
            name = f"broker{len(self.procs)}-{attempt}"
            proc = self.spawn(args, name)
            out = self.path(name + ".out")

            def ready():
                if proc.poll() is not None:
                    return "exited"
                with open(out) as f:
                    line = f.readline().strip()
                return line if line.startswith("bootstrap=") else None

            # A deadline, not a wait: on this VM the page cache is reclaimed
            # eagerly, and loading the binary again from disk once took 20 s.
            state = wait_for(ready, 60, "the dev broker to print bootstrap=")
            if state != "exited":
                return state[len("bootstrap="):]
            if proc.returncode != 2:  # 2: port taken in the meantime; try another
                raise AssertionError(f"dev-broker failed: {self.log(proc)}")
        raise AssertionError("no free port for the dev broker")

    def start_host(self, pipeline, config, bootstrap, plugins_dir=PLUGINS_DIR,
                   name="host", extra=(), prefix=(), host=HOST):
        # The crash journal is the test's own (shared by its hosts).
        env = dict(os.environ, BOOTSTRAP_SERVERS=bootstrap, STREAMS_STATE_DIR=self.path("state"))
        args = [*prefix, host, "run", "--config", config, "--plugins-dir", plugins_dir,
                *extra, pipeline]
        return self.spawn(args, name, env=env)

    def stop(self, proc, timeout=30):
        """SIGTERM, then waits for the exit status."""
        proc.send_signal(signal.SIGTERM)
        return wait_for(lambda: proc.poll() is not None and (proc.returncode,),
                        timeout, f"{proc.log_name} to exit after SIGTERM")[0]


class SteadyProducer(threading.Thread):
    """Writes b"n0", b"n1", ... to `topic` at about 200 a second until
    `done` is set; `sent` counts them. With `keys`, record N has the value
    b"N" (or value(N)) and the key b"k<N % keys>"."""

    def __init__(self, bootstrap, topic, keys=None, value=None):
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.keys = bootstrap, topic, keys
        self.value = value or (lambda n: b"%d" % n)
        self.sent, self.done = 0, threading.Event()

    def run(self):
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=50)
        try:
            while not self.done.is_set():
                for _ in range(40):
                    if self.keys:
                        producer.send(self.topic, key=b"k%d" % (self.sent % self.keys),
                                      value=self.value(self.sent))
                    else:
                        producer.send(self.topic, value=b"n%d" % self.sent)
                    self.sent += 1
                self.done.wait(0.2)  # the pace of the stream, not a wait for a condition
            producer.flush(timeout=60)
        finally:
            producer.close()

    def finish(self):
        self.done.set()
        self.join(timeout=120)
        assert not self.is_alive(), "the producer did not finish"
        return self.sent


def produce(bootstrap, topic, records):
    """records: iterable of (key bytes|None, value bytes, headers list), each
    optionally followed by a record timestamp in ms (default: now)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for key, value, headers, *timestamp in records:
            producer.send(topic, key=key, value=value, headers=headers,
                          timestamp_ms=timestamp[0] if timestamp else None)
        producer.flush(timeout=30)
    finally:
        producer.close()


def produce_kcat(bootstrap, topic, records):
    """records: iterable of (key bytes, value bytes), neither holding ':' or a
    newline, produced by kcat (librdkafka) rather than kafka-python."""
    lines = b"".join(k + b":" + v + b"\n" for k, v in records)
    result = subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", topic, "-K", ":"],
                            input=lines, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr


def partitions(topic, count):
    return [TopicPartition(topic, p) for p in range(count)]


def end_offsets(bootstrap, tps):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        return {tp.partition: off for tp, off in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


def committed_offsets(bootstrap, group, tps):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                             enable_auto_commit=False)
    try:
        return {tp.partition: consumer.committed(tp) or 0 for tp in tps}
    finally:
        consumer.close()


def wait_committed_to_end(bootstrap, group, tps, timeout=60):
    """Waits until the group's committed offsets equal the end offsets; fails
    once they have not moved for `timeout` seconds."""
    def behind():
        ends = end_offsets(bootstrap, tps)
        committed = committed_offsets(bootstrap, group, tps)
        if sum(ends.values()) == 0:
            return -1
        return -sum(max(ends[p] - committed.get(p, 0), 0) for p in ends)
    wait_progress(behind, 0, timeout, f"group {group} to commit up to the end offsets")


def read_all(bootstrap, tps):
    """Every record of the partitions, up to their current end offsets."""
    ends = end_offsets(bootstrap, tps)
    # The dev broker answers a fetch after fetch_max_wait_ms whatever it holds.
    # A partition fetch must hold a whole record batch (the host's producer
    # sends batches up to 1 MB after a backlog; kafka-python does not move
    # past a batch cut off at its 1 MiB default).
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             fetch_max_wait_ms=10, max_partition_fetch_bytes=16 << 20)
    try:
        wanted = [tp for tp in tps if ends[tp.partition] > 0]
        if not wanted:
            return []
        consumer.assign(wanted)
        consumer.seek_to_beginning(*wanted)
        records = []

        # poll() blocks while nothing is there; a poll returns a batch a
        # partition (tens of records from the dev broker), so polling on
        # without a pause between polls reads thousands of records a second.
        deadline = time.monotonic() + 120
        while True:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
            if all(consumer.position(tp) >= ends[tp.partition] for tp in wanted):
                return records
            if time.monotonic() > deadline:
                positions = {tp.partition: consumer.position(tp) for tp in wanted}
                raise AssertionError(f"timed out after 120s reading the topic to its end: "
                                     f"read {len(records)} records; positions {positions}, "
                                     f"ends {ends}")
    finally:
        consumer.close()


def read_values(bootstrap, topic):
    """Every value of `topic` (text without newlines), read to the end by kcat.
    For topics of many small record batches, which the dev broker serves one
    a fetch: kafka-python reads those at a few hundred records a second."""
    result = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e",
                             "-q", "-f", "%s\n"], capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout.split(b"\n")[:-1]


def run_cli(args, env=None, timeout=60):
    return subprocess.run([HOST, *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def admin_port(env, host, timeout=30):
    """The port of a host started with --admin-port 0, from its log."""
    def port():
        m = re.search(r"admin endpoint on http://127\.0\.0\.1:(\d+)", env.log(host))
        return int(m.group(1)) if m else None
    return wait_for(port, timeout, "the host's admin endpoint")


def host_status(port):
    """GET /status of a host's admin endpoint, as a dict."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=30) as r:
        return json.loads(r.read())


def probe(port, path):
    """(HTTP status, JSON body) of GET `path` on a host's admin endpoint,
    whatever the status (/livez and /readyz answer 503 with a reason)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def gauge(port, name):
    """The value of the single-series metric `name` (streams_...) on a host's
    /metrics, or None when it has none."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        m = re.search(r"^%s\{[^}]*\} (\S+)$" % name, r.read().decode(), re.M)
    return float(m.group(1)) if m else None


def wait_generation(port, generation, timeout=30):
    """Waits until the host runs `generation`; returns its status."""
    return wait_for(lambda: (lambda s: s["generation"] >= generation and s)(host_status(port)),
                    timeout, f"generation {generation}")


def expected_version(versions, points, partition, offset):
    """Of `versions` (the first, then one per reload), the one of the last
    generation whose switch point on `partition` (`points`: one per reload)
    is at or before `offset`: what an output from that input carries."""
    chosen = versions[0]
    for version, at in zip(versions[1:], points):
        start = at.get(partition, 0)
        if start <= offset:
            chosen = version
    return chosen
