from streams.pipeline.function_template import *  # noqa: F401,F403
