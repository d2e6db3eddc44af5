from streams.pipeline.message import *  # noqa: F401,F403
