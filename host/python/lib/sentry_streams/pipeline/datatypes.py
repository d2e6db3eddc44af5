from streams.pipeline.datatypes import *  # noqa: F401,F403
