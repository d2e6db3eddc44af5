"""The README's plugin project, as its CMake snippets write it: installs the
SDK from this build, configures the project against it with -Wall -Wextra
-Werror, builds the plugin and its test, and runs the test."""
import os
import subprocess
import sys
import tempfile


def run(*args, env=None):
    result = subprocess.run(args, capture_output=True, text=True, env=env)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def main():
    project, build_dir = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="streams-readme-") as tmp:
        prefix, build = os.path.join(tmp, "prefix"), os.path.join(tmp, "build")
        run("cmake", "--install", build_dir, "--prefix", prefix)
        env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMS_")}
        run("cmake", "-S", project, "-B", build, "-G", "Ninja", f"-DCMAKE_PREFIX_PATH={prefix}",
            "-DCMAKE_NO_SYSTEM_FROM_IMPORTED=ON", "-DCMAKE_CXX_FLAGS=-Wall -Wextra -Werror",
            env=env)
        run("cmake", "--build", build)
        assert os.path.exists(os.path.join(build, "my_plugin.so"))
        assert run(os.path.join(build, "my_plugin_test")).strip() == "ok"
    print("ok")


if __name__ == "__main__":
    main()
