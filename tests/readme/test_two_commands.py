"""The README starts with exactly the two commands (install, build and run
the example; install, build and run every test), both scripts exist and are
executable, and .ci/run calls the second and nothing else."""
import os
import re
import sys

root = sys.argv[1]
with open(os.path.join(root, "README.md")) as f:
    readme = f.read()
m = re.match(r"# streams\n\n```sh\n(.*?)\n```\n", readme, re.S)
assert m, "README.md must start with '# streams' and one ```sh block: " + readme[:300]
commands = [line.split("#")[0].strip() for line in m.group(1).splitlines()]
assert commands == ["./packaging/quickstart.sh", "./packaging/test.sh"], commands
for script in commands:
    path = os.path.join(root, script)
    assert os.access(path, os.X_OK), f"{script} is not an executable file"
with open(os.path.join(root, ".ci", "run")) as f:
    steps = [line.strip() for line in f if line.strip() and not line.startswith("#")]
assert steps[-1] == "exec ./packaging/test.sh", steps
assert all(s.startswith(("set ", "cd ")) for s in steps[:-1]), steps
print("ok")
