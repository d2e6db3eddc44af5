"""The Python baseline: simple_map_filter as a plain confluent-kafka
consumer/producer loop, what many users would write instead of a pipeline.
Same client settings as the host. Runs until SIGTERM.

usage: baseline_simple_map_filter.py BOOTSTRAP INPUT OUTPUT GROUP
"""
import json
import signal
import sys

from confluent_kafka import Consumer, Producer

REQUIRED = ("org_id", "project_id", "name", "type", "timestamp", "tags", "value",
            "retention_days")


def main():
    bootstrap, topic_in, topic_out, group = sys.argv[1:5]
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "auto.offset.reset": "earliest", "queued.min.messages": 1000000,
                         "enable.auto.offset.store": False, "session.timeout.ms": 6000,
                         "fetch.wait.max.ms": 5})
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                         "linger.ms": 1})
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))
    consumer.subscribe([topic_in])
    while running[0]:
        for msg in consumer.consume(num_messages=1000, timeout=0.1):
            if msg.error():
                continue
            try:
                metric = json.loads(msg.value())
                if not all(k in metric for k in REQUIRED):
                    continue
            except ValueError:
                continue
            if metric["type"] == "c":
                metric["transformed"] = True
                while True:
                    try:
                        producer.produce(topic_out, json.dumps(metric).encode(), key=msg.key(),
                                         headers=msg.headers(), timestamp=msg.timestamp()[1])
                        break
                    except BufferError:
                        producer.poll(0.001)
            consumer.store_offsets(msg)
        producer.poll(0)
    producer.flush(10)
    consumer.close()


if __name__ == "__main__":
    main()
