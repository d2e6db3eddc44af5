from streams.pipeline.window import *  # noqa: F401,F403
