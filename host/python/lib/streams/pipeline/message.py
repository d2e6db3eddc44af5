"""The message type a transform receives. The host hands functions its own
message objects (payload, headers, timestamp, schema, key, topic, partition,
offset); this class is for type annotations and for tests."""


class Message:
    def __class_getitem__(cls, item):
        return cls

    def __init__(self, payload, headers=(), timestamp=None, schema=None, key=None):
        self.payload = payload
        self.headers = list(headers)
        self.timestamp = timestamp
        self.schema = schema
        self.key = key

    def __repr__(self):
        return f"Message(payload={self.payload!r}, timestamp={self.timestamp!r})"


PyMessage = Message
