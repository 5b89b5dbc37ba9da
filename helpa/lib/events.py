"""A small in-process event dispatcher.

`tickets` must not import the apps above it (mail, automation, api). It publishes events; those
apps subscribe in `AppConfig.ready()`. A subscriber chooses when it runs: `inside` runs in the
action's transaction (its work is part of the change, or fails with it), `on_commit` after the
transaction commits (side effects such as notifications and outgoing mail).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any, Literal

from django.db import transaction

Handler = Callable[..., None]
_subscribers: dict[str, list[tuple[Handler, str]]] = defaultdict(list)


def subscribe(
    event: str, when: Literal["inside", "on_commit"] = "on_commit"
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if (handler, when) not in _subscribers[event]:
            _subscribers[event].append((handler, when))
        return handler

    return register


def publish(event: str, **payload: Any) -> None:
    for handler, when in _subscribers[event]:
        if when == "inside":
            handler(**payload)
        else:
            transaction.on_commit(lambda h=handler: h(**payload))
