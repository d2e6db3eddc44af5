from streams.pipeline import *  # noqa: F401,F403
from streams.pipeline import __all__  # noqa: F401
