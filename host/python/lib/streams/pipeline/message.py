"""The message type a transform receives. The host hands functions its own
message objects (payload, headers, timestamp, schema, key, topic, partition,
offset); this class is for type annotations and tests, and is what a host
message becomes when copied (``deepcopy()``) or pickled (an accumulator or a
state value that keeps messages)."""
import copy


class Message:
    def __class_getitem__(cls, item):
        return cls

    def __init__(self, payload, headers=(), timestamp=None, schema=None, key=None, topic=None,
                 partition=-1, offset=-1):
        self.payload = payload
        self.headers = list(headers)
        self.timestamp = timestamp
        self.schema = schema
        self.key = key
        self.topic = topic
        self.partition = partition
        self.offset = offset

    def size(self):
        """The payload's length when it is bytes or text, else None."""
        return len(self.payload) if isinstance(self.payload, (bytes, str)) else None

    def deepcopy(self):
        return Message(copy.deepcopy(self.payload), copy.deepcopy(self.headers), self.timestamp,
                       self.schema, self.key, self.topic, self.partition, self.offset)

    def __reduce__(self):  # also what a host message pickles as
        return (Message, (self.payload, self.headers, self.timestamp, self.schema, self.key,
                          self.topic, self.partition, self.offset))

    def __repr__(self):
        return f"Message(payload={self.payload!r}, timestamp={self.timestamp!r})"


PyMessage = Message
