"""Refusals at start-up: each is a non-zero exit with one clear line naming
the file (and key). Checked for both `run` and `validate`."""
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

DEPLOYMENT = """pipeline:
  segments:
    - steps_config:
        in: {bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]}
        out: {bootstrap_servers: ["127.0.0.1:1"]}
"""


def pipeline(step, output="output"):
    return ("source: {name: in, stream_name: input}\n"
            "steps:\n"
            f"  - {step}\n"
            f"  - {{kind: sink, name: out, stream_name: {output}}}\n")


def expect_refusal(env, name, step, expected, bootstrap="127.0.0.1:1", deployment=DEPLOYMENT,
                   output="output"):
    pipe = env.write(f"{name}.yaml", pipeline(step, output))
    config = env.write("deployment.yaml", deployment)
    run_env = dict(os.environ)
    run_env.pop("BOOTSTRAP_SERVERS", None)
    if bootstrap:
        run_env["BOOTSTRAP_SERVERS"] = bootstrap
    for command in ("run", "validate"):
        result = h.run_cli([command, "--config", config, "--plugins-dir", env.path("plugins"),
                            pipe], env=run_env)
        lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert result.returncode == 2, (name, command, result.returncode, result.stderr)
        assert len(lines) == 1, (name, command, result.stderr)
        for part in expected:
            assert part in lines[0], (name, command, part, lines[0])


def main():
    with h.Env() as env:
        plugins = env.path("plugins")
        os.mkdir(plugins)
        for name in ("abi_v2", "no_entry", "failing_init", "testkit"):
            shutil.copy(os.path.join(h.TEST_PLUGINS_DIR, name + ".so"), plugins)
        pipe = env.path

        expect_refusal(env, "abi", "{kind: map, name: m, plugin: abi_v2, function: f}",
                       [pipe("abi.yaml") + ":3:", "steps[0].plugin",
                        plugins + "/abi_v2.so: built for plugin ABI v2",
                        "this host supports ABI v1"])
        expect_refusal(env, "noentry", "{kind: map, name: m, plugin: no_entry, function: f}",
                       [pipe("noentry.yaml") + ":3:", "steps[0].plugin",
                        plugins + "/no_entry.so: no entry symbol streams_plugin_entry_v1"])
        expect_refusal(env, "init", "{kind: map, name: m, plugin: failing_init, function: strict}",
                       [pipe("init.yaml") + ":3:", "steps[0].function",
                        plugins + "/failing_init.so",
                        "failed to initialise: config.threshold is required"])
        expect_refusal(env, "missing", "{kind: map, name: m, plugin: nowhere, function: f}",
                       [pipe("missing.yaml") + ":3:", "steps[0].plugin",
                        "plugin 'nowhere' not found: no " + plugins + "/nowhere.so"])
        expect_refusal(env, "kind", "{kind: mapp, name: m, plugin: testkit, function: upper}",
                       [pipe("kind.yaml") + ":3:", "steps[0].kind",
                        "unknown step kind 'mapp'; did you mean 'map'? (expected one of map, filter, flat_map, header_filter, parser, serializer, batch, reduce, route, broadcast, sink)"])
        expect_refusal(env, "envvar", "{kind: map, name: m, plugin: testkit, function: upper}",
                       [env.path("deployment.yaml") + ":4:",
                        "steps_config.in.bootstrap_servers[0]",
                        "environment variable BOOTSTRAP_SERVERS is not set"],
                       bootstrap=None)

        upper = "{kind: map, name: m, plugin: testkit, function: upper}"
        expect_refusal(env, "dup", "{kind: map, name: m, plugin: testkit, function: upper, "
                       "function: split}",
                       [pipe("dup.yaml") + ":3:", "steps[0].function: duplicate key"])
        expect_refusal(env, "outside", "{kind: map, name: m, plugin: ../testkit, function: f}",
                       [pipe("outside.yaml") + ":3:", "steps[0].plugin",
                        "plugin name '../testkit' is not a plain name"])
        expect_refusal(env, "topic", upper, [pipe("topic.yaml") + ":4:", "steps[1]",
                                             "'bad topic!' is not a valid Kafka topic name"],
                       output="'bad topic!'")
        expect_refusal(env, "loop", upper,
                       [env.path("deployment.yaml") + ":", "steps_config.in.dlq.topic",
                        "the dead-letter queue is the source topic input"],
                       deployment=DEPLOYMENT.replace(
                           'in: {bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]}',
                           'in: {bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"], '
                           'dlq: {topic: input}}'))

        # And the good case validates.
        ok = env.write("ok.yaml", pipeline("{kind: map, name: m, plugin: testkit, function: upper}"))
        env.write("deployment.yaml", DEPLOYMENT)
        result = h.run_cli(["validate", "--config", env.path("deployment.yaml"),
                            "--plugins-dir", plugins, ok],
                           env=dict(os.environ, BOOTSTRAP_SERVERS="127.0.0.1:1"))
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("ok: "), result.stdout

        # A tool that cannot reach its broker says why, librdkafka's words as
        # warnings in the tool's log format (not its raw lines), then fails.
        result = h.run_cli(["offsets", "show", "--config", env.path("deployment.yaml"), ok],
                           env=dict(os.environ, BOOTSTRAP_SERVERS="127.0.0.1:1"), timeout=60)
        assert result.returncode == 2, (result.returncode, result.stderr)
        assert "on 127.0.0.1:1: topic input: Local: Broker transport failure" in result.stderr, \
            result.stderr
        assert re.search(r"WARN +kafka streams-offsets#consumer-\d+: 127\.0\.0\.1:1/bootstrap: "
                         r"Connect to ipv4#127\.0\.0\.1:1 failed", result.stderr), result.stderr
        assert "%3|" not in result.stderr, result.stderr

        # A busy port is a clear error from dev-broker, not an abort.
        with h.socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            result = h.run_cli(["dev-broker", "--port", str(port)], timeout=30)
        assert result.returncode == 2, (result.returncode, result.stderr)
        assert f"port {port} is not available on 127.0.0.1" in result.stderr, result.stderr
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
