"""The local runtime: the same pipelines over newline-delimited input with no
broker; Kafka sinks to stdout or files."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402


def local(args, stdin=None, policy="skip-and-count"):
    return subprocess.run([h.HOST, "run", "--runtime", "local", "--error-policy", policy, *args],
                          input=stdin, capture_output=True, text=True, timeout=60)


def example_matches_its_expected_output():
    result = local(["--plugins-dir", h.PLUGINS_DIR, "--input",
                    os.path.join(h.EXAMPLE_DIR, "input.jsonl"),
                    os.path.join(h.EXAMPLE_DIR, "pipeline.yaml")])
    assert result.returncode == 0, result.stderr
    with open(os.path.join(h.EXAMPLE_DIR, "expected_output.jsonl")) as f:
        assert result.stdout == f.read(), result.stdout
    assert "local: 6 record(s) read, 2 skipped" in result.stderr, result.stderr


def branches_to_files_from_stdin(env):
    b_file = env.path("b-file.lines")
    a_file = env.path("a.lines")
    pipe = env.write("tree.yaml", h.TESTKIT_TREE % {"file": b_file})
    result = local(["--plugins-dir", h.TEST_PLUGINS_DIR, "--output", f"a_out={a_file}", pipe],
                   stdin="a:1,b:2\nq:3\nb:4,a:5\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "b:2\nb:4\n", result.stdout  # b_out, not redirected
    with open(a_file) as f:
        assert f.read() == "A:1\nA:5\n"
    with open(b_file) as f:
        assert f.read() == "b:2\nb:4\n"
    assert "skipped stdin[0]@1: step 'by_prefix'" in result.stderr, result.stderr
    assert "route chose branch 'q'" in result.stderr, result.stderr


def json_envelopes(env):
    pipe = env.write("tree3.yaml", h.TESTKIT_TREE % {"file": env.path("y.lines")})
    result = local(["--plugins-dir", h.TEST_PLUGINS_DIR, "--input-format", "json", pipe],
                   stdin='{"value": "h:1", "headers": {"region": "eu"}}\n'
                         '{"value": "h:2", "headers": {"region": "us"}}\n'
                         'h:3\n'
                         '{"value": 4}\n')
    assert result.returncode == 0, result.stderr
    assert result.stdout == "h:1\n", result.stdout  # h_out: only the eu header passed
    assert "skipped stdin[0]@2: step 'input' invalid_input: not a JSON envelope" in result.stderr
    assert "envelope member 'value' must be a string or null" in result.stderr, result.stderr


def refusals(env):
    pipe = env.write("tree2.yaml", h.TESTKIT_TREE % {"file": env.path("x.lines")})
    result = local(["--plugins-dir", h.TEST_PLUGINS_DIR, "--output", "nope=/tmp/x", pipe],
                   stdin="")
    assert result.returncode == 2, result
    assert "--output nope=/tmp/x: the pipeline has no sink named 'nope'" in result.stderr
    result = local(["--plugins-dir", h.TEST_PLUGINS_DIR, "--input", env.path("missing"), pipe])
    assert result.returncode == 2 and "cannot read input" in result.stderr, result
    fatal = env.write("fatal.yaml", """source: {name: in, stream_name: in}
steps:
  - {kind: map, name: f, plugin: testkit, function: fatal}
  - {kind: sink, name: out, type: devnull}
""")
    result = local(["--plugins-dir", h.TEST_PLUGINS_DIR, fatal], stdin="x\ny\n")
    assert result.returncode == 1, result
    assert "local: 1 record(s) read, 0 skipped; stopped" in result.stderr, result.stderr
    # Kafka needs a deployment config; local does not.
    result = h.run_cli(["run", "--plugins-dir", h.TEST_PLUGINS_DIR, fatal])
    assert result.returncode == 2, result
    assert "--config is required with --runtime kafka" in result.stderr, result.stderr


def live_input(env):
    """A line's outputs show while the input stays open and quiet (a live
    stream piped in), not when the input ends; SIGTERM then stops the run."""
    pipe = env.write("tree4.yaml", h.TESTKIT_TREE % {"file": env.path("z.lines")})
    out = env.path("live.out")
    with open(out, "w") as stdout:
        proc = subprocess.Popen([h.HOST, "run", "--runtime", "local", "--plugins-dir",
                                 h.TEST_PLUGINS_DIR, pipe], stdin=subprocess.PIPE,
                                stdout=stdout, stderr=subprocess.DEVNULL)
    try:
        proc.stdin.write(b"b:1\n")
        proc.stdin.flush()

        def shown():
            with open(out) as f:
                return f.read() == "b:1\n"
        h.wait_for(shown, 30, "the first line's output before the input ends")
        proc.stdin.write(b"b:2\n")
        proc.stdin.flush()
        h.wait_for(lambda: open(out).read() == "b:1\nb:2\n", 30, "the second line's output")
        proc.terminate()
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        proc.stdin.close()


def main():
    example_matches_its_expected_output()
    with h.Env() as env:
        live_input(env)
        branches_to_files_from_stdin(env)
        json_envelopes(env)
        refusals(env)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
