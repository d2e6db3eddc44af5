"""The alerts example's functions (Sentry Streams' examples/events.py). One
change: an event's latency is measured from the message's timestamp rather
than from the clock, so that the example's output does not depend on when it
runs."""
import json
from dataclasses import dataclass

from sentry_streams.pipeline.function_template import Accumulator, GroupBy


@dataclass
class TimeSeriesDataPoint:
    alert_id: int
    latency: int
    alert_type: str


@dataclass
class p95AlertData:
    alert_id: int
    p95_latency: int
    name: str = "p95alert"

    def to_dict(self):
        return {"alert_id": self.alert_id, "alert_name": self.name,
                "p95_latency": self.p95_latency}


@dataclass
class CountAlertData:
    alert_id: int
    event_count: int
    name: str = "eventcount"

    def to_dict(self):
        return {"alert_id": self.alert_id, "alert_name": self.name,
                "event_count": self.event_count}


def build_alert_json(message):
    d = message.payload.to_dict()
    return json.dumps(d).encode("utf-8")


class AlertsBuffer(Accumulator):
    """Aggregates the data points of one alert ID."""

    def __init__(self):
        self.latencies = []
        self.count = 0

    def add(self, message):
        value = message.payload
        if value.alert_type == "count":
            self.count += 1
            self.alert_type = value.alert_type
            self.alert_id = value.alert_id
        if value.alert_type == "p95":
            self.latencies.append(value.latency)
            self.alert_type = value.alert_type
            self.alert_id = value.alert_id
        return self

    def get_value(self):
        # A fake p95 calculation, to serve as an example
        if self.alert_type == "count":
            return CountAlertData(alert_id=self.alert_id, event_count=self.count)
        else:
            return p95AlertData(alert_id=self.alert_id, p95_latency=max(self.latencies))

    def merge(self, other):
        self.latencies = self.latencies + other.latencies
        self.count = self.count + other.count
        return self


# alert rules for our app
REGISTERED_ALERTS = {
    4: {"type": "count", "threshold": 4},
    5: {"type": "count", "threshold": 2},
    6: {"type": "p95", "threshold": 4},
}

# maps project_id to alert rules
REGISTERED_PROJECT_ALERTS = {2: {"tag_a": 4, "tag_b": 6}, 1: 6}


def materialize_alerts(message):
    """One time-series point per alert rule the event matches."""
    event = message.payload
    project_id = event["project_id"]
    alerts_for_project = REGISTERED_PROJECT_ALERTS[project_id]
    latency = int(message.timestamp - event["data"]["received"])
    if isinstance(alerts_for_project, dict):
        tags = event["data"]["tags"] or []
        for tag in tags:
            alert_id = alerts_for_project[tag]
            alert_type = REGISTERED_ALERTS[alert_id]["type"]
            yield TimeSeriesDataPoint(alert_id=alert_id, latency=latency, alert_type=alert_type)
    else:
        alert_type = REGISTERED_ALERTS[alerts_for_project]["type"]
        yield TimeSeriesDataPoint(alert_id=alerts_for_project, latency=latency,
                                  alert_type=alert_type)


class GroupByAlertID(GroupBy):
    def get_group_by_key(self, alerting_event):
        return alerting_event.alert_id
