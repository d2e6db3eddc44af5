import json

from sentry_streams.pipeline.function_template import Accumulator, GroupBy


class GroupByWord(GroupBy):
    def get_group_by_key(self, payload):
        return payload[0]


def simple_filter(value):
    d = json.loads(value.payload)
    return True if "name" in d else False


def simple_map(value):
    d = json.loads(value.payload)
    word = d.get("word", "null_word")
    return (word, 1)


class WordCounter(Accumulator):
    def __init__(self):
        self.tup = ("", 0)

    def add(self, value):
        self.tup = (value.payload[0], self.tup[1] + value.payload[1])
        return self

    def get_value(self):
        return f"{self.tup[0]} {self.tup[1]}"

    def merge(self, other):
        first = self.tup[0] + other.tup[0]
        second = self.tup[1] + other.tup[1]
        self.tup = (first, second)
        return self
