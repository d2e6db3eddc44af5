"""Plugins built in a directory outside the repository, against the
installed SDK, load and run in the host: a map, and a sink (ABI 1.6) that
writes the outputs to a file."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """source: {name: in, stream_name: words}
steps:
  - {kind: map, name: shout, plugin: shout, function: shout}
  - kind: broadcast
    name: both
    branches:
      kafka: [{kind: sink, name: out, stream_name: shouted}]
      file: [{kind: sink, name: lines, plugin: lines, config: {path: %s}}]
"""


def sh(*args):
    result = subprocess.run(args, capture_output=True, text=True)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def main():
    with h.Env() as env:
        prefix, src, build = env.path("prefix"), env.path("src"), env.path("build")
        sh("cmake", "--install", h.BUILD_DIR, "--prefix", prefix)
        # The SDK installs what a plugin needs; not the in-tree pipeline driver.
        sdk = os.path.join(prefix, "include", "streams")
        assert os.path.exists(os.path.join(sdk, "plugin.hpp"))
        assert not os.path.exists(os.path.join(sdk, "pipeline_driver.hpp"))
        shutil.copytree(os.path.join(h.SOURCE_DIR, "tests", "sdk_consumer"), src)
        clean_env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMS_")}
        subprocess.run(["cmake", "-S", src, "-B", build, "-G", "Ninja",
                        f"-DCMAKE_PREFIX_PATH={prefix}"], check=True, env=clean_env,
                       capture_output=True)
        sh("cmake", "--build", build)
        assert "shout_test: ok" in sh(os.path.join(build, "shout_test"))
        plugin = os.path.join(build, "shout.so")
        exported = [line.split()[-1] for line in sh("nm", "-D", "--defined-only", plugin).splitlines()]
        assert exported == ["streams_plugin_entry_v1"], exported

        bootstrap = env.start_broker(["words:2", "shouted:2"])
        lines = env.path("lines.txt")
        host = env.start_host(env.write("pipeline.yaml", PIPELINE % lines),
                              env.write("deployment.yaml", h.deployment()), bootstrap,
                              plugins_dir=build)
        h.produce(bootstrap, "words", [(b"a", b"hello", []), (b"b", b"plugin", [])])
        tps = h.partitions("words", 2)
        h.wait_committed_to_end(bootstrap, "pipeline-in", tps)
        values = sorted(r.value for r in h.read_all(bootstrap, h.partitions("shouted", 2)))
        assert values == [b"HELLO!", b"PLUGIN!"], values
        with open(lines) as f:
            assert sorted(f.read().splitlines()) == ["HELLO!", "PLUGIN!"]
        assert env.stop(host) == 0, env.log(host)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
