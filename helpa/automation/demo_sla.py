"""A demo business calendar and SLA policies for `helpa demo_data` (it publishes
`demo_data.loaded`; subscribed in subscribers.py)."""

from __future__ import annotations

from typing import Any

from helpa.tickets.models import Priority, Ticket, active_q

from . import sla
from .models import BusinessCalendar, HolidayCountry, SLAPolicy

HOUR = 60
BUSINESS_DAY = 9 * HOUR  # 08–17


def load(**_payload: Any) -> None:
    calendar = BusinessCalendar.objects.create(
        name="Kontorstid",
        is_default=True,
        holiday_country=HolidayCountry.SE,
        hours=[[[8 * HOUR, 17 * HOUR]] for _day in range(5)] + [[], []],
    )
    SLAPolicy.objects.create(
        name="Hög prioritet",
        position=10,
        priorities=[Priority.HIGH],
        first_response_minutes=1 * HOUR,
        resolution_minutes=8 * HOUR,
        calendar=calendar,
        warning_minutes=15,
    )
    SLAPolicy.objects.create(
        name="Standard",
        position=20,
        first_response_minutes=8 * HOUR,
        resolution_minutes=5 * BUSINESS_DAY,
        calendar=calendar,
        warning_minutes=60,
    )
    # The demo tickets were made before the policies: give the active ones their due times.
    for ticket in Ticket.objects.filter(active_q()).order_by("pk"):
        Ticket.objects.filter(pk=ticket.pk).update(**sla.work_out(ticket))
