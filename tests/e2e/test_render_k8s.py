"""`streams-host render k8s`: the objects rendered for every example (YAML
and Python pipelines, and a two-segment deployment) pass the Kubernetes
object schemas (the kubernetes-models npm package, which
packaging/install-deps.sh installs); a workload per segment, a StatefulSet
for a segment with state; the pods' /metrics open to Prometheus (annotated)
unless --metrics-need-token; a changed config changes `configVersion`; a
deployment that uses ${envvar:NAME} without --env is refused, naming it.
The modules a pipeline uses from its directory and its parsers' JSON
Schemas are in the ConfigMap without --file, those of a directory (schemas/,
a package) mounted there by the volume's items."""
import glob
import json
import os
import shutil
import subprocess
import sys

import yaml

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

MODELS = os.environ.get("STREAMS_K8S_MODELS", "/usr/local/lib/streams-tests/node_modules")
VALIDATE = os.path.join(h.SOURCE_DIR, "tests", "k8s", "validate.js")
ENV = ["--env", "BOOTSTRAP_SERVERS=kafka.streams.svc:9092"]


def render(pipeline, config, *extra):
    result = h.run_cli(["render", "k8s", "--config", config, "--image", "streams-host:test",
                        *ENV, *extra, pipeline])
    assert result.returncode == 0, (pipeline, result.stderr)
    return [o for o in yaml.safe_load_all(result.stdout) if o]


def validate(env, objects):
    path = env.write("objects.json", json.dumps(objects))
    result = subprocess.run(["node", VALIDATE, path], capture_output=True, text=True,
                            env=dict(os.environ, NODE_PATH=MODELS), timeout=120)
    return result.returncode, result.stdout + result.stderr


def config_for(env, sink):
    """A one-segment deployment of source `in` and Kafka sink `sink`."""
    return env.write("deployment.yaml", "pipeline:\n  segments:\n    - steps_config:\n"
                                        "        in: {bootstrap_servers: [\"${envvar:BOOTSTRAP_SERVERS}\"]}\n"
                                        f"        {sink}: {{bootstrap_servers: [\"${{envvar:BOOTSTRAP_SERVERS}}\"]}}\n")


def workloads(objects):
    return [o for o in objects if o["kind"] in ("Deployment", "StatefulSet")]


def examples():
    """(pipeline, deployment, extra files) of every example."""
    out = []
    for d in sorted(glob.glob(os.path.join(h.SOURCE_DIR, "configs", "*", "")) +
                    glob.glob(os.path.join(h.SOURCE_DIR, "configs", "python", "*", ""))):
        pipeline = next((os.path.join(d, p) for p in ("pipeline.yaml", "pipeline.py")
                         if os.path.exists(os.path.join(d, p))), None)
        if not pipeline or not os.path.exists(os.path.join(d, "deployment.yaml")):
            continue
        extra = [f for f in sorted(glob.glob(os.path.join(d, "*.json")) +
                                   glob.glob(os.path.join(d, "*.py"))) if f != pipeline]
        out.append((pipeline, os.path.join(d, "deployment.yaml"), extra))
    return out


def main():
    assert os.path.exists(os.path.join(MODELS, "kubernetes-models")), \
        f"kubernetes-models is not installed under {MODELS}: run packaging/install-deps.sh"
    with h.Env() as env:
        everything = []
        cases = examples()
        assert len(cases) >= 15, cases
        for pipeline, config, extra in cases:
            objects = render(pipeline, config, *[a for f in extra for a in ("--file", f)])
            segments = len(yaml.safe_load(open(config))["pipeline"]["segments"])
            assert len(workloads(objects)) == segments, (pipeline, objects)
            stateful = "state:" in open(pipeline).read()
            kinds = {o["kind"] for o in workloads(objects)}
            assert kinds == {"StatefulSet" if stateful else "Deployment"}, (pipeline, kinds)
            config_map = next(o for o in objects if o["kind"] == "ConfigMap")
            # The files given, and the JSON Schemas its parsers use from its
            # schemas/ directory, found there in the pods.
            schemas = os.path.join(os.path.dirname(pipeline), "schemas")
            used = {"schemas." + f for f in os.listdir(schemas)} if os.path.isdir(schemas) else set()
            given = {os.path.basename(f) for f in [pipeline, config, *extra]}
            assert given <= set(config_map["data"]) <= given | used, config_map["data"]
            for key in set(config_map["data"]) - given:
                volume = next(v for v in workloads(objects)[0]["spec"]["template"]["spec"][
                    "volumes"] if v["name"] == "config")
                assert {"key": key, "path": "schemas/" + key[len("schemas."):]} in volume[
                    "configMap"]["items"], (pipeline, volume)
            if pipeline.endswith(os.path.join("python", "billing", "pipeline.py")):
                assert "schemas.events.schema.json" in config_map["data"], config_map["data"]
            assert config_map["data"][os.path.basename(pipeline)] == open(pipeline).read()
            everything += objects

        # Without --file, the modules a Python pipeline imports from beside
        # it go into the ConfigMap all the same, one from a directory there too.
        broadcast = os.path.join(h.SOURCE_DIR, "configs", "python", "broadcast")
        result = h.run_cli(["render", "k8s", "--config", os.path.join(broadcast, "deployment.yaml"),
                            "--image", "i", *ENV, os.path.join(broadcast, "pipeline.py")])
        assert result.returncode == 0, result.stderr
        data = next(o for o in yaml.safe_load_all(result.stdout) if o and o["kind"] == "ConfigMap")[
            "data"]
        assert data["broadcast_fn.py"] == open(os.path.join(broadcast, "broadcast_fn.py")).read()
        assert "the ConfigMap holds broadcast_fn.py, which it uses" in result.stderr, result.stderr
        env.write("nested/lib/helpers.py", "def f(msg):\n    return msg.payload\n")
        nested = env.write("nested/p.py", open(os.path.join(broadcast, "pipeline.py")).read().replace(
            "from broadcast_fn import", "from lib.helpers import f\nfrom broadcast_fn import"))
        shutil.copy(os.path.join(broadcast, "broadcast_fn.py"), env.path("nested"))
        result = h.run_cli(["render", "k8s", "--config", os.path.join(broadcast, "deployment.yaml"),
                            "--image", "i", *ENV, nested])
        assert result.returncode == 0, result.stderr
        objects = [o for o in yaml.safe_load_all(result.stdout) if o]
        data = next(o for o in objects if o["kind"] == "ConfigMap")["data"]
        assert data["lib.helpers.py"] == open(env.path("nested/lib/helpers.py")).read(), data
        volume = next(v for v in workloads(objects)[0]["spec"]["template"]["spec"]["volumes"]
                      if v["name"] == "config")
        assert {"key": "lib.helpers.py", "path": "lib/helpers.py"} in volume["configMap"]["items"]
        everything += objects

        # A YAML pipeline's python: steps: the modules they name beside it,
        # in packages too, and what those import.
        env.write("yamlpy/helper.py", "import text\ndef up(msg):\n    return text.up(msg)\n")
        env.write("yamlpy/text.py", "def up(msg):\n    return msg.payload.upper()\n")
        env.write("yamlpy/keep/__init__.py", "")
        env.write("yamlpy/keep/rules.py", "def any(msg):\n    return True\n")
        yaml_pipeline = env.write("yamlpy/p.yaml", "source: {name: in, stream_name: raw}\n"
                                                   "steps:\n"
                                                   "  - {kind: map, name: up, python: helper.up}\n"
                                                   "  - {kind: filter, name: k, python: keep.rules.any}\n"
                                                   "  - {kind: sink, name: out, stream_name: o}\n")
        objects = render(yaml_pipeline, config_for(env, "out"))
        data = next(o for o in objects if o["kind"] == "ConfigMap")["data"]
        assert set(data) == {"p.yaml", "deployment.yaml", "helper.py", "text.py",
                             "keep.__init__.py", "keep.rules.py"}, data
        volume = next(v for v in workloads(objects)[0]["spec"]["template"]["spec"]["volumes"]
                      if v["name"] == "config")
        assert {"key": "keep.rules.py", "path": "keep/rules.py"} in volume["configMap"]["items"]
        # A name that does not resolve is said; what did load is shipped.
        env.write("yamlpy/broken.yaml", "source: {name: in, stream_name: raw}\n"
                                        "steps:\n"
                                        "  - {kind: map, name: up, python: helper.down}\n"
                                        "  - {kind: sink, name: out, stream_name: o}\n")
        result = h.run_cli(["render", "k8s", "--config", config_for(env, "out"), "--image", "i",
                            *ENV, env.path("yamlpy/broken.yaml")])
        assert result.returncode == 0, result.stderr
        assert "python: helper.down: module helper has no down" in result.stderr, result.stderr
        data = next(o for o in yaml.safe_load_all(result.stdout) if o["kind"] == "ConfigMap")["data"]
        assert {"helper.py", "text.py"} <= set(data), data
        # A schema from outside the pipeline's directory is said, not shipped.
        outside = env.write("elsewhere/raw.schema.json", '{"type": "object"}\n')
        parsed = env.write("yamlpy/parsed.yaml", "source: {name: in, stream_name: raw}\n"
                                                 "steps:\n"
                                                 f"  - {{kind: parser, name: p, schema: {outside}}}\n"
                                                 "  - {kind: sink, name: out, stream_name: o}\n")
        result = h.run_cli(["render", "k8s", "--config", config_for(env, "out"), "--image", "i",
                            *ENV, parsed])
        assert result.returncode == 0, result.stderr
        assert f"warning: {parsed}: it uses {outside}, which is not in its directory" in \
            result.stderr, result.stderr

        # Two segments: a workload, a budget and a service each.
        pipeline = env.write("two.yaml", """name: Two_Segments
source: {name: in, stream_name: raw}
steps:
  - {kind: parser, name: parse, format: json}
  - {kind: serializer, name: ser, format: json}
  - {kind: sink, name: out, stream_name: cooked}
""")
        two = """pipeline:
  segments:
    - steps_config:
        in:
          starts_segment: true
          bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]
          drain_timeout_ms: 45000
    - steps_config:
        ser: {starts_segment: true, parallelism: 3}
        out: {bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]}
"""
        config = env.write("two-deployment.yaml", two)
        objects = render(pipeline, config, "--replicas", "3", "--namespace", "data")
        assert [o["metadata"]["name"] for o in workloads(objects)] == \
            ["streams-two-segments-s0", "streams-two-segments-s1"], objects
        for kind in ("PodDisruptionBudget", "Service"):
            assert len([o for o in objects if o["kind"] == kind]) == 2, (kind, objects)
        first, second = workloads(objects)
        assert all(o["metadata"]["namespace"] == "data" for o in objects)
        assert first["spec"]["replicas"] == 3
        pod = first["spec"]["template"]["spec"]
        args = pod["containers"][0]["args"]
        assert args[args.index("--segment-id") + 1] == "0" and args[-1] == "/etc/streams/two.yaml"
        assert pod["terminationGracePeriodSeconds"] > 45, pod
        second_args = second["spec"]["template"]["spec"]["containers"][0]["args"]
        assert second_args[second_args.index("--segment-id") + 1] == "1"
        assert second["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"][
            "cpu"] == "3"  # a core per processing thread
        # A Prometheus that discovers pods scrapes /metrics without the token.
        annotations = first["spec"]["template"]["metadata"]["annotations"]
        assert (annotations["prometheus.io/scrape"], annotations["prometheus.io/port"],
                annotations["prometheus.io/path"]) == ("true", "9100", "/metrics"), annotations
        assert "--metrics-without-token" in args, args
        everything += objects
        closed = workloads(render(pipeline, config, "--metrics-need-token"))[0]["spec"]["template"]
        assert not any(k.startswith("prometheus.io/") for k in closed["metadata"]["annotations"])
        assert "--metrics-without-token" not in closed["spec"]["containers"][0]["args"]

        # A password from a Secret: referenced, never written into the objects.
        secured = env.write("secured-deployment.yaml", two.replace(
            'drain_timeout_ms: 45000',
            'drain_timeout_ms: 45000\n          override_params: {security.protocol: SASL_SSL, '
            'sasl.mechanisms: PLAIN, sasl.username: streams, '
            'sasl.password: "${envvar:KAFKA_PASSWORD}"}'))
        objects = render(pipeline, secured, "--env-secret",
                         "KAFKA_PASSWORD=kafka-credentials:password")
        for workload in workloads(objects):
            container_env = workload["spec"]["template"]["spec"]["containers"][0]["env"]
            assert {"name": "KAFKA_PASSWORD", "valueFrom": {"secretKeyRef": {
                "name": "kafka-credentials", "key": "password"}}} in container_env, container_env
        everything += objects
        result = h.run_cli(["render", "k8s", "--config", secured, "--image", "i", *ENV,
                            "--env-secret", "KAFKA_PASSWORD=kafka-credentials:password", pipeline])
        assert result.returncode == 0 and "warning" not in result.stderr, result
        # A password written out in the file would be in the ConfigMap: a warning names it.
        written = env.write("written-deployment.yaml", open(secured).read().replace(
            '"${envvar:KAFKA_PASSWORD}"', "hunter2"))
        result = h.run_cli(["render", "k8s", "--config", written, "--image", "i", *ENV, pipeline])
        assert result.returncode == 0, result
        assert "warning: " + written + ": pipeline.segments[0].steps_config.in.override_params." \
            "sasl.password holds a secret written in the file" in result.stderr, result
        assert "hunter2" not in result.stderr, result
        result = h.run_cli(["render", "k8s", "--config", secured, "--image", "i", *ENV, pipeline])
        assert result.returncode == 2 and "--env-secret KAFKA_PASSWORD=SECRET:KEY" in \
            result.stderr, result
        result = h.run_cli(["render", "k8s", "--config", secured, "--image", "i", *ENV,
                            "--env-secret", "KAFKA_PASSWORD=kafka-credentials", pipeline])
        assert result.returncode == 2 and "expected NAME=SECRET:KEY" in result.stderr, result

        status, report = validate(env, everything)
        assert status == 0, report
        assert report.count("ok ") == len(everything), report
        # The validator does reject a wrong object.
        broken = json.loads(json.dumps(first))
        broken["spec"]["replicas"] = "3"
        status, report = validate(env, [broken])
        assert status == 1 and "replicas must be integer" in report, report

        # A changed config changes configVersion (pods and ConfigMap).
        version = first["spec"]["template"]["metadata"]["annotations"]["configVersion"]
        env.write("two-deployment.yaml", two.replace("45000", "50000"))
        changed = workloads(render(pipeline, config))[0]
        assert changed["spec"]["template"]["metadata"]["annotations"]["configVersion"] != version
        again = workloads(render(pipeline, config))[0]
        assert again["spec"]["template"]["metadata"]["annotations"] == \
            changed["spec"]["template"]["metadata"]["annotations"]

        # ${envvar:NAME} with no value for the pods.
        result = h.run_cli(["render", "k8s", "--config", config, "--image", "i", pipeline])
        assert result.returncode == 2, result
        assert "${envvar:BOOTSTRAP_SERVERS}" in result.stderr and "--env" in result.stderr, result
        print(f"ok: {len(everything)} objects valid")


if __name__ == "__main__":
    main()
