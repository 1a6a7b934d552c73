"""Structured logs: one JSON object a line (``settings.log_format == "json"``, the default), or
uvicorn's plain text.

Every line has ``ts`` (ISO 8601, UTC), ``level``, ``logger`` and ``event``; an event logged with
:func:`log_event` adds its fields (``index_swap`` with ``old_version``, ``new_version`` and
``load_seconds``, ``search_rejected`` with ``reason``, ``in_flight`` and ``waiting``, …), and a
plain ``logger.info(...)`` line is the event ``log`` with its ``message``. The events the service
logs: ``startup``, ``index_swap``, ``index_build_rejected``, ``search_rejected`` and
``feedback_store_fault``.

Nothing logged may hold a question's text or a client's address: events carry counts, versions
and reasons only, uvicorn's access log (whose lines hold ``/?q=…``) stays off, and a JSON line
gives an exception as its type and stack frames without its message (a message may quote the
input; the text format, for local debugging, prints tracebacks whole).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import traceback
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import uvicorn

from indexer.settings import Settings

if TYPE_CHECKING:  # not imported at run time: ``python -m service`` reads this module before it starts uvicorn
    from retrieval.searcher import Searcher

#: The loggers of the project and of uvicorn that the service's log configuration sets up.
PROJECT_LOGGERS = ("service", "web", "retrieval", "indexer")
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
#: Where :func:`log_event` keeps the event, its fields and whether it has a message, on the log record.
EVENT_ATTRIBUTE = "peerqa_event"
FIELDS_ATTRIBUTE = "peerqa_fields"
MESSAGE_ATTRIBUTE = "peerqa_has_message"
#: The event of a line not logged with :func:`log_event`.
PLAIN_EVENT = "log"


def log_event(logger: logging.Logger, event: str, *, level: int = logging.INFO, message: str | None = None,
              **fields: Any) -> None:
    """Log ``event`` with ``fields`` (JSON-serialisable values; never a question or an address).

    ``message`` is the human sentence for text logs (and the ``message`` field of a JSON line);
    without one, text logs show ``event key=value …``."""
    text = message if message is not None else " ".join([event, *(f"{k}={v}" for k, v in fields.items())])
    logger.log(level, "%s", text, extra={EVENT_ATTRIBUTE: event, FIELDS_ATTRIBUTE: fields,
                                          MESSAGE_ATTRIBUTE: message is not None})


def log_feedback_fault(logger: logging.Logger, error: Exception, source: str, level: int = logging.ERROR) -> None:
    """Log that the feedback store failed (``StorageUnavailable``: its ``fault``; ``StoreFull``:
    ``full``) where ``source`` (``api``, ``form``, ``start-up``) used it; nothing of the judgment."""
    log_event(logger, "feedback_store_fault", level=level, message=f"feedback not stored ({source}): {error}",
              source=source, fault=getattr(error, "fault", "full"), retry_after=getattr(error, "retry_after", None))


def log_startup(logger: logging.Logger, searcher: Searcher, settings: Settings) -> None:
    """The ``startup`` event of a worker: the index it serves, the model, and its process id."""
    health = searcher.health()
    log_event(logger, "startup", message=f"serving index build {health.index_version} (pid {os.getpid()})",
              index_version=health.index_version, built_at=health.built_at, documents=health.documents,
              passages=health.passages, model=health.model, pid=os.getpid(), workers=settings.workers)


def utc_timestamp(created: float) -> str:
    """A record's time as ISO 8601 in UTC with milliseconds (``2024-05-01T12:00:00.123Z``)."""
    return datetime.fromtimestamp(created, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (see the module docstring for its fields)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"ts": utc_timestamp(record.created), "level": record.levelname,
                                "logger": record.name}
        event = getattr(record, EVENT_ATTRIBUTE, None)
        if event is not None:
            line["event"] = event
            if getattr(record, MESSAGE_ATTRIBUTE, False):
                line["message"] = record.getMessage()
            for name, value in getattr(record, FIELDS_ATTRIBUTE, {}).items():
                line.setdefault(name, value)  # a field never hides ts, level, logger or event
        else:
            line.update(event=PLAIN_EVENT, message=record.getMessage())
        if record.exc_info and record.exc_info[0] is not None:
            kind, _, trace = record.exc_info
            line["exception"] = kind.__name__  # not its message, which may quote a question
            line["stack"] = "".join(traceback.format_tb(trace)).rstrip()
        return json.dumps(line, ensure_ascii=False, default=str)


def logging_config(settings: Settings) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` for uvicorn's ``log_config``: JSON lines on stderr for
    ``settings.log_format == "json"``, else uvicorn's own text format; the project's loggers
    (``service``, ``web``, …) log at INFO beside uvicorn's either way."""
    if settings.log_format == "json":
        return _json_config()
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    for name in PROJECT_LOGGERS:
        config["loggers"][name] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def _json_config() -> dict[str, Any]:
    logger = {"handlers": ["json"], "level": "INFO", "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "loggers": {name: dict(logger) for name in (*UVICORN_LOGGERS, *PROJECT_LOGGERS)},
    }


__all__ = ["JsonFormatter", "log_event", "log_feedback_fault", "log_startup", "logging_config"]
