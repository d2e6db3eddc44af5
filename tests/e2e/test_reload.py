"""Hot reload under a steady numbered stream: twenty reloads alternate two
versions of a plugin, dropped into the plugins directory by copying over the
loaded file in place, by renaming a new file over it, or by moving a new
plugins directory in place of the old (then removed), each picked up by the
file watcher. Every number is output exactly once, and each output carries
the version of the generation that was running at its partition's switch
points (as the host reports them in GET /status)."""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PARTITIONS = 4
RELOADS = 20
PIPELINE = """source: {name: in, stream_name: rl-in}
steps:
  - {kind: map, name: stamp, plugin: stamp, function: stamp}
  - {kind: sink, name: out, stream_name: rl-out}
"""


def version_so(version):
    return os.path.join(h.TEST_PLUGINS_DIR, f"stamp_v{version[0]}.so")


def install(src, dst, how):
    """Copies over the loaded file (same inode, rewritten), renames a
    complete copy over it, or swaps its whole directory for a new one."""
    if how == "in place":
        shutil.copyfile(src, dst)
    elif how == "rename":
        shutil.copyfile(src, dst + ".tmp")
        os.replace(dst + ".tmp", dst)
    else:
        plugins = os.path.dirname(dst)
        shutil.copytree(plugins, plugins + ".new")
        shutil.copyfile(src, os.path.join(plugins + ".new", os.path.basename(dst)))
        os.rename(plugins, plugins + ".old")
        os.rename(plugins + ".new", plugins)
        shutil.rmtree(plugins + ".old")


def output_count(bootstrap):
    return sum(h.end_offsets(bootstrap, h.partitions("rl-out", PARTITIONS)).values())


def main():
    with h.Env() as env:
        bootstrap = env.start_broker([f"rl-in:{PARTITIONS}", f"rl-out:{PARTITIONS}"])
        plugins = env.path("plugins")
        os.mkdir(plugins)
        stamp = os.path.join(plugins, "stamp.so")
        shutil.copyfile(version_so("1.0.0"), stamp)
        host = env.start_host(env.write("p.yaml", PIPELINE), env.write("d.yaml", h.deployment()),
                              bootstrap, plugins_dir=plugins, extra=["--admin-port", "0"])
        port = h.admin_port(env, host)
        producer = h.SteadyProducer(bootstrap, "rl-in")
        producer.start()
        versions, points = ["1.0.0"], []
        try:
            h.wait_for(lambda: output_count(bootstrap) >= 100, 60, "the first outputs")
            for k in range(1, RELOADS + 1):
                version = "2.0.0" if k % 2 else "1.0.0"
                install(version_so(version), stamp, ["swap", "in place", "in place", "rename"][k % 4])
                status = h.wait_generation(port, k + 1)
                last = status["last_reload"]
                assert last["outcome"] == "applied", last
                assert status["steps"][0]["version"] == version, status
                assert any("stamp 1.0.0" in c and "stamp 2.0.0" in c for c in last["changes"]), last
                versions.append(version)
                points.append({p["partition"]: max(p["offset"], 0) for p in last["switch_points"]})
                target = output_count(bootstrap) + 40
                h.wait_for(lambda: output_count(bootstrap) >= target, 60, "outputs after a reload")
            total = producer.finish()
            h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("rl-in", PARTITIONS),
                                    timeout=120)
            assert env.stop(host) == 0, env.log(host)
        finally:
            producer.done.set()

        log = env.log(host)
        assert log.count(" assigned rl-in[") == 1, log  # no rebalance, no restart
        seen = {}
        for r in h.read_all(bootstrap, h.partitions("rl-out", PARTITIONS)):
            number, version, where, config = r.value.decode().split(" ")
            partition, offset = (int(x) for x in where.split("@"))
            assert config == "{}", r.value
            assert number not in seen, f"{number} output twice: {seen[number]} and {r.value}"
            seen[number] = r.value
            wanted = h.expected_version(versions, points, partition, offset)
            assert version == wanted, (r.value, wanted, points)
        missing = [n for n in range(total) if f"n{n}" not in seen]
        assert not missing, missing[:10]
        stamped = {v.split(b" ")[1] for v in seen.values()}
        assert stamped == {b"1.0.0", b"2.0.0"}, stamped
    print(f"ok: {total} numbers through {RELOADS} reloads")


if __name__ == "__main__":
    main()
