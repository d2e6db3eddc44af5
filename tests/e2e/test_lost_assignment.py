"""A host frozen (SIGSTOP) past its session timeout loses its partitions to
the other member of the group while its outputs are still in flight. Once it
runs again it treats them as lost: it commits nothing for them (its log
shows no commit for a partition it did not own), and the output is
complete."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
from test_two_hosts import PARTITIONS, grow, owned_partitions, two_hosts  # noqa: E402


def main():
    with h.Env() as env:
        bootstrap = env.start_broker([f"two-in:{PARTITIONS}", f"two-out:{PARTITIONS}"])
        producer = h.SteadyProducer(bootstrap, "two-in")
        producer.start()
        try:
            a, b = two_hosts(env, bootstrap, "heartbeat.interval.ms: \"500\"")
            a.send_signal(signal.SIGSTOP)
            h.wait_for(lambda: env.log(b).count(" assigned two-in[") >= 2, 60,
                       "host b to take host a's partitions")
            grow(bootstrap, 200, "host b's output while a is frozen")
            a.send_signal(signal.SIGCONT)
            h.wait_for(lambda: " lost two-in[" in env.log(a), 60, "host a to see its loss")
            grow(bootstrap, 200, "output after host a is back")
            total = producer.finish()
            h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("two-in", PARTITIONS),
                                    timeout=120)
            assert env.stop(a) == 0, env.log(a)
            assert env.stop(b) == 0, env.log(b)
        finally:
            producer.done.set()

        values = {r.value for r in h.read_all(bootstrap, h.partitions("two-out", PARTITIONS))}
        missing = [n for n in range(total) if b"N%d" % n not in values]
        assert not missing, missing[:10]
        owned_partitions(env.log(a))  # fails on a commit for a partition a did not own
        owned_partitions(env.log(b))
        assert "(nothing committed for them)" in env.log(a), env.log(a)
    print(f"ok: {total} numbers")


if __name__ == "__main__":
    main()
