"""A Rust plugin made outside the repository from the README's steps
("Writing a plugin in Rust"): the SDK installed from this build, `cargo new
--lib`, the README's Cargo.toml lines and src/lib.rs (its test included),
built and tested offline with Debian's cargo, dropped into a plugins
directory, loaded by the host and run on the dev broker."""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """source: {name: in, stream_name: words}
steps:
  - {kind: map, name: shout, plugin: my_rust_plugin, function: upper}
  - {kind: sink, name: out, stream_name: shouted}
"""


def readme_blocks():
    """The code blocks of the README's Rust section: [(language, text)]."""
    with open(os.path.join(h.SOURCE_DIR, "README.md")) as f:
        text = f.read()
    section = text[text.index("### Writing a plugin in Rust"):]
    section = section[:re.search(r"\n##+ ", section[4:]).start() + 4]
    return re.findall(r"```(\w+)\n(.*?)```", section, re.S)


def sh(args, cwd=None, env=None):
    result = subprocess.run(args, capture_output=True, text=True, cwd=cwd, env=env)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def main():
    blocks = readme_blocks()
    toml = [b for lang, b in blocks if lang == "toml"]
    rust = [b for lang, b in blocks if lang == "rust"]
    assert len(toml) == 1 and len(rust) == 2, blocks
    with h.Env() as env:
        prefix, work = env.path("prefix"), env.path("work")
        sh(["cmake", "--install", h.BUILD_DIR, "--prefix", prefix])
        os.mkdir(work)
        cargo_env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMS_")}
        cargo_env.update(RUSTC="/usr/bin/rustc", RUSTDOC="/usr/bin/rustdoc",
                         CARGO_HOME=env.path("cargo-home"))
        cargo = "/usr/bin/cargo"
        assert any("cargo new --lib my_rust_plugin" in b for _, b in blocks), blocks
        sh([cargo, "new", "--lib", "--vcs", "none", "my_rust_plugin"], cwd=work, env=cargo_env)
        project = os.path.join(work, "my_rust_plugin")
        manifest = os.path.join(project, "Cargo.toml")
        with open(manifest) as f:
            text = f.read()
        assert text.rstrip().endswith("[dependencies]"), text
        with open(manifest, "w") as f:
            f.write(text.rstrip()[:-len("[dependencies]")] + toml[0].replace("/opt/streams", prefix))
        with open(os.path.join(project, "src", "lib.rs"), "w") as f:
            f.write(rust[0] + "\n#[cfg(test)]\nmod tests {\n    use super::*;\n\n" + rust[1] + "}\n")
        sh([cargo, "build", "--release", "--offline"], cwd=project, env=cargo_env)
        assert "test result: ok. 1 passed" in sh([cargo, "test", "--offline"], cwd=project,
                                                 env=cargo_env)

        plugins = env.path("plugins")
        os.mkdir(plugins)
        shutil.copyfile(os.path.join(project, "target", "release", "libmy_rust_plugin.so"),
                        os.path.join(plugins, "my_rust_plugin.so"))
        bootstrap = env.start_broker(["words:2", "shouted:2"])
        host = env.start_host(env.write("pipeline.yaml", PIPELINE),
                              env.write("deployment.yaml", h.deployment()), bootstrap,
                              plugins_dir=plugins)
        h.produce(bootstrap, "words", [(b"a", b"hello", [("h", b"1")]), (b"b", b"rust", [])])
        h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("words", 2))
        out = sorted((r.key, r.value, r.headers) for r in h.read_all(bootstrap, h.partitions("shouted", 2)))
        assert out == [(b"a", b"HELLO", [("h", b"1")]), (b"b", b"RUST", [])], out
        assert "my_rust_plugin 1.0.0" in env.log(host), env.log(host)
        assert env.stop(host) == 0, env.log(host)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
