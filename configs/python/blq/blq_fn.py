import time
from enum import Enum

# 10 minutes
MAX_MESSAGE_LATENCY = 600


class DownstreamBranch(Enum):
    DELAYED = "delayed"
    RECENT = "recent"


def should_send_to_blq(msg):
    timestamp = msg.payload["timestamp"]
    if timestamp < time.time() - MAX_MESSAGE_LATENCY:
        return DownstreamBranch.DELAYED
    else:
        return DownstreamBranch.RECENT
