"""The example pipelines in configs/ (or, with the argument `python`, the
original's examples as Python pipeline files in configs/python/): each one's
input file through the local runtime and through the host on the dev broker
must give exactly its expected files, one per sink, in order."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

EXAMPLES = ["broadcast", "blq", "batching", "transformer", "word_counter", "billing", "alerts"]
PYTHON = len(sys.argv) > 1 and sys.argv[1] == "python"
if not PYTHON:
    EXAMPLES += ["counter", "dedup"]  # stateful: no Python version of the original's
# The stateful examples' changelog topics (the dev broker cannot create topics).
CHANGELOGS = {"counter": ["counter-count-changelog"], "dedup": ["dedup-dedup-changelog"]}
ROOT = os.path.join(h.SOURCE_DIR, "configs", *(["python"] if PYTHON else []))
PIPELINE = "pipeline.py" if PYTHON else "pipeline.yaml"


def example_dir(name):
    return os.path.join(ROOT, name)


def expected(name):
    """{sink name: [value lines]} from expected/<sink>.jsonl."""
    out = {}
    folder = os.path.join(example_dir(name), "expected")
    for file in sorted(os.listdir(folder)):
        with open(os.path.join(folder, file)) as f:
            out[file[:-len(".jsonl")]] = f.read().splitlines()
    return out


def inputs(name):
    with open(os.path.join(example_dir(name), "input.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def topics(name):
    """The source's name and stream, and {sink name: stream}, as `streams-host
    graph` draws the pipeline file."""
    result = subprocess.run([h.HOST, "graph", os.path.join(example_dir(name), PIPELINE)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    source = re.search(r'\["(\w+)<br/>source ([\w-]+)"\]', result.stdout)
    sinks = dict(re.findall(r'\["(\w+)<br/>sink kafka ([\w-]+)"\]', result.stdout))
    return source.group(1), source.group(2), sinks


def run_local(env, name):
    want = expected(name)
    outputs = {sink: env.path(f"{name}-{sink}.out") for sink in want}
    args = [h.HOST, "run", "--runtime", "local", "--plugins-dir", h.PLUGINS_DIR,
            "--input-format", "json", "--input", os.path.join(example_dir(name), "input.jsonl")]
    for sink, path in outputs.items():
        args += ["--output", f"{sink}={path}"]
    args += ["--config", os.path.join(example_dir(name), "deployment.yaml")]
    result = subprocess.run([*args, os.path.join(example_dir(name), PIPELINE)],
                            capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, BOOTSTRAP_SERVERS="unused:9092"))
    assert result.returncode == 0, (name, result.stderr)
    for sink, path in outputs.items():
        with open(path) as f:
            got = f.read().splitlines()
        assert got == want[sink], (name, sink, got, want[sink])


def run_on_broker(env, name):
    source_name, source, sinks = topics(name)
    want = expected(name)
    assert set(sinks) == set(want), (name, sinks, want)
    bootstrap = env.start_broker([f"{source}:1"] + [f"{t}:1" for t in sinks.values()] +
                                 [f"{t}:1" for t in CHANGELOGS.get(name, [])])
    producer = h.KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for rec in inputs(name):
            headers = [(k, v.encode()) for k, v in rec.get("headers", {}).items()]
            key, value = rec.get("key"), rec.get("value")
            producer.send(source, key=key.encode() if key is not None else None,
                          value=value.encode() if value is not None else None,
                          headers=headers, timestamp_ms=rec.get("timestamp_ms"))
        producer.flush(timeout=30)
    finally:
        producer.close()
    host = env.start_host(os.path.join(example_dir(name), PIPELINE),
                          os.path.join(example_dir(name), "deployment.yaml"), bootstrap,
                          name=f"host-{name}")
    # Every input committed means every window and batch was emitted and
    # delivered; then the sinks hold exactly what they will ever hold.
    h.wait_committed_to_end(bootstrap, f"pipeline-{source_name}", h.partitions(source, 1))
    for sink, topic in sinks.items():
        got = [r.value.decode() for r in h.read_all(bootstrap, h.partitions(topic, 1))]
        assert got == want[sink], (name, sink, got, want[sink])
    assert env.stop(host) == 0, env.log(host)


def main():
    with h.Env() as env:
        for name in EXAMPLES:
            run_local(env, name)
        for name in EXAMPLES:
            run_on_broker(env, name)
    print("ok")


if __name__ == "__main__":
    main()
