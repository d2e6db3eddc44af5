from streams.pipeline.pipeline import *  # noqa: F401,F403
