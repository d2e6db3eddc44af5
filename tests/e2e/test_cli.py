"""What a user sees first: --version and `version`, a mistyped command or
option answered with the nearest that exists, the documented exit status
(0, or 2 for usage errors), and graph without broker variables."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402


def cli(*args):
    return h.run_cli(list(args))


def main():
    for args in (["--version"], ["version"]):
        result = cli(*args)
        assert result.returncode == 0, result
        assert re.fullmatch(r"streams-host \d+\.\d+\.\d+ \(plugin ABI 1\.\d+, librdkafka "
                            r"\d+\.\d+\.\d+\)\n", result.stdout), result.stdout
    for args, expected in [
            (["rn"], "error: unknown command 'rn'; did you mean 'run'?"),
            ([], "error: a command is required (commands: version, run,"),
            (["dlq", "replai"], "error: unknown command 'replai' for 'dlq'; did you mean "
                                "'replay'?"),
            (["run", "--log-levl", "debug", "p.yaml"],
             "error: unknown option '--log-levl' for 'run'; did you mean '--log-level'?"),
            (["validate", "--confg", "d.yaml", "p.yaml"],
             "error: unknown option '--confg' for 'validate'; did you mean '--config'?")]:
        result = cli(*args)
        assert result.returncode == 2, (args, result)
        assert result.stderr.startswith(expected), (args, result.stderr)
    # graph connects to nothing: an unset ${envvar:} is no error there.
    env = {k: v for k, v in os.environ.items() if k != "BOOTSTRAP_SERVERS"}
    example = os.path.join(h.SOURCE_DIR, "configs", "simple_map_filter")
    result = h.run_cli(["graph", "--config", os.path.join(example, "deployment.yaml"),
                        os.path.join(example, "pipeline.yaml")], env=env)
    assert result.returncode == 0 and "flowchart" in result.stdout, result
    print("ok")


if __name__ == "__main__":
    main()
