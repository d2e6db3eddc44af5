"""The column types of the original's ``ParquetSerializer`` schemas, so that a
file that imports them loads and is told plainly what this host does not do:
it writes no Parquet (Debian packages no Parquet library), and ``describe``
refuses a ``ParquetSerializer`` step by name. Each type keeps its arguments."""

__all__ = ["DataType", "Boolean", "Int8", "Int16", "Int32", "Int64", "Uint8", "Uint16", "Uint32",
           "Uint64", "Float32", "Float64", "String", "Utf8", "Binary", "Date", "Null", "Decimal",
           "Time", "Datetime", "List", "Duration", "Field", "Struct"]


class DataType:
    def __init__(self, *args, **kwargs):
        self.args = args
        self.kwargs = kwargs

    def __repr__(self):
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{type(self).__name__}({', '.join(parts)})"


class Field(DataType):
    def __init__(self, name, dtype):
        super().__init__(name, dtype)
        self.name = name
        self.dtype = dtype


class Boolean(DataType):
    pass


class Int8(DataType):
    pass


class Int16(DataType):
    pass


class Int32(DataType):
    pass


class Int64(DataType):
    pass


class Uint8(DataType):
    pass


class Uint16(DataType):
    pass


class Uint32(DataType):
    pass


class Uint64(DataType):
    pass


class Float32(DataType):
    pass


class Float64(DataType):
    pass


class String(DataType):
    pass


class Utf8(DataType):
    pass


class Binary(DataType):
    pass


class Date(DataType):
    pass


class Null(DataType):
    pass


class Decimal(DataType):
    pass


class Time(DataType):
    pass


class Datetime(DataType):
    pass


class List(DataType):
    pass


class Duration(DataType):
    pass


class Struct(DataType):
    pass
