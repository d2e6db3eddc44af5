import json


class BroadcastFunctions:
    """Takes '{"name":"Foo"}' and says hello on one topic, goodbye on another."""

    @staticmethod
    def no_op_map(value):
        return value.payload.decode("utf-8")

    @staticmethod
    def hello_map(value):
        name = json.loads(value.payload)["name"]
        return f"Hello, {name}!"

    @staticmethod
    def goodbye_map(value):
        name = json.loads(value.payload)["name"]
        return f"Goodbye, {name}."
