"""Log lines on stderr in go-plugin's JSON format.

go-plugin hosts re-log a stderr line at its own level only when it is a JSON
object whose @timestamp has exactly six fractional digits (Go parses it with a
fixed layout); any other line arrives at debug level.
"""

import datetime
import json
import sys

MODULE = "pyfake"


def timestamp(now=None):
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def log(level, message, **fields):
    record = dict(fields)
    record.update({"@level": level, "@message": message, "@module": MODULE, "@timestamp": timestamp()})
    sys.stderr.write(json.dumps(record) + "\n")
    sys.stderr.flush()
