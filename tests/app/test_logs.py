from __future__ import annotations

import json
import logging

from chatapp.logs import JSONFormatter


def test_log_lines_are_json_with_the_extra_fields() -> None:
    record = logging.makeLogRecord(
        {"name": "chatapp.relay", "levelname": "INFO", "msg": "generation %s", "args": ("done",)}
    )
    record.__dict__.update({"event": "generation", "tokens": 42})
    line = json.loads(JSONFormatter().format(record))
    assert line["message"] == "generation done" and line["logger"] == "chatapp.relay"
    assert line["event"] == "generation" and line["tokens"] == 42
    assert line["time"].endswith("+00:00")
