"""Rules as plain data: the one place that checks a rule (the edit form and the JSON import
both come here), and the JSON file `helpa rules export` writes and `helpa rules import` reads
(format in README, "Rules").

Checking collects every problem with where it is ("Invoices, line 2: …"), so an admin fixes a
file in one go; an import with any problem changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from helpa.accounts.models import Team, User
from helpa.crm.identifiers import normalise_phone
from helpa.crm.models import Brand
from helpa.tickets.models import Category, Channel, Priority, Queue, Status, TicketType

from .engine import PRIORITY_NAMES, with_parts
from .matching import PatternError, check_value, parse_minutes
from .models import (
    MINUTE_FIELDS,
    WORD_FIELDS,
    ActionKind,
    Event,
    Field,
    Rule,
    RuleAction,
    TicketTemplate,
)

FIELD_ALIASES = {"to": "to_cc", "cc": "to_cc", "text": "body", "sender": "from"}
MAIL_ONLY_ACTIONS = {
    ActionKind.AUTO_REPLY,
    ActionKind.SUPPRESS_AUTO_REPLY,
    ActionKind.FORCE_NEW_TICKET,
}


class RuleErrors(Exception):
    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


@dataclass
class CleanRule:
    name: str
    weight: int
    events: list[str]
    queue: Queue | None
    continue_matching: bool
    is_active: bool
    description: str
    lines: list[dict[str, Any]] = field(default_factory=list)
    brand: Brand | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)


def _choices(choices: Any) -> dict[str, str]:
    """Code, English label and Swedish label, case-folded, → code."""
    known: dict[str, str] = {}
    for code, label in choices:
        known[str(code).casefold()] = str(code)
        with translation.override("en"):
            known[str(label).casefold()] = str(code)
        with translation.override("sv"):
            known[str(label).casefold()] = str(code)
    return known


def _priorities() -> dict[str, str]:
    known = {name: name for name in PRIORITY_NAMES.values()}
    for code, label in Priority.choices:
        name = PRIORITY_NAMES[Priority(code)]
        known[str(code)] = name
        with translation.override("en"):
            known[str(label).casefold()] = name
        with translation.override("sv"):
            known[str(label).casefold()] = name
    return known


def _queue(value: str) -> Queue | None:
    return Queue.objects.filter(Q(slug__iexact=value) | Q(name__iexact=value)).first()


def _agent(value: str) -> User | None:
    return User.objects.agents().filter(email__iexact=value.strip()).first()


class _Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.statuses = _choices(Status.choices)
        self.channels = _choices(Channel.choices)
        self.priorities = _priorities()

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    # --- one rule ---

    def rule(self, data: Any, where: str) -> CleanRule | None:
        if not isinstance(data, dict):
            self.error(where, _("a rule must be an object with a name, lines and actions."))
            return None
        known_keys = {
            "name",
            "weight",
            "events",
            "queue",
            "brand",
            "continue",
            "active",
            "description",
            "lines",
            "actions",
            "hits",
            "last_hit",
        }
        for key in sorted(set(data) - known_keys):
            self.error(where, _("unknown key “%(key)s”.") % {"key": key})
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            self.error(where, _("the rule needs a name."))
            name = ""
        name = name.strip()[:200]
        if name:
            where = f"{where} “{name}”"
        weight = data.get("weight", 10)
        if isinstance(weight, bool) or not isinstance(weight, int):
            self.error(where, _("the weight must be a whole number."))
            weight = 10
        events = data.get("events", ["new"])
        if not isinstance(events, list) or not events or any(e not in Event.values for e in events):
            self.error(
                where,
                _("events must be a list of one or more of: %(events)s.")
                % {"events": ", ".join(Event.values)},
            )
            events = []
        queue = None
        if data.get("queue") not in (None, ""):
            queue = _queue(str(data["queue"]))
            if queue is None:
                self.error(
                    where,
                    _("there is no queue “%(queue)s” (it may have been deleted).")
                    % {"queue": data["queue"]},
                )
        brand = None
        if data.get("brand") not in (None, ""):
            code = str(data["brand"]).strip()
            brand = Brand.objects.filter(code__iexact=code).first()
            if brand is None:
                self.error(
                    where,
                    _("there is no brand with the id “%(brand)s” (it may have been deleted).")
                    % {"brand": code},
                )
            elif queue is not None and queue.brand_id != brand.pk:
                self.error(
                    where,
                    _("the queue “%(queue)s” does not belong to the brand “%(brand)s”.")
                    % {"queue": queue.slug, "brand": brand.code},
                )
        flags = {}
        for key in ("continue", "active"):
            value = data.get(key, False)
            if not isinstance(value, bool):
                self.error(where, _("“%(key)s” must be true or false.") % {"key": key})
                value = False
            flags[key] = value
        description = data.get("description", "")
        if not isinstance(description, str):
            self.error(where, _("the description must be text."))
            description = ""
        lines_data = data.get("lines")
        if not isinstance(lines_data, list) or not lines_data:
            self.error(
                where,
                _("a rule needs at least one line (write the value * to match everything)."),
            )
            lines_data = []
        actions_data = data.get("actions")
        if not isinstance(actions_data, list) or not actions_data:
            self.error(where, _("a rule needs at least one action."))
            actions_data = []
        lines = [
            clean
            for i, item in enumerate(lines_data, 1)
            if (clean := self.line(item, _("%(rule)s, line %(n)s") % {"rule": where, "n": i}))
            is not None
        ]
        actions = [
            clean
            for i, item in enumerate(actions_data, 1)
            if (
                clean := self.action(
                    item, events, _("%(rule)s, action %(n)s") % {"rule": where, "n": i}
                )
            )
            is not None
        ]
        return CleanRule(
            name=name,
            weight=weight,
            events=events,
            queue=queue,
            brand=brand,
            continue_matching=flags["continue"],
            is_active=flags["active"],
            description=description,
            lines=lines,
            actions=actions,
        )

    # --- lines ---

    def line(self, data: Any, where: str) -> dict[str, Any] | None:
        if not isinstance(data, dict):
            self.error(where, _("a line must be an object with fields, values and negate."))
            return None
        fields = data.get("fields")
        values = data.get("values")
        negate = data.get("negate", False)
        ok = True
        if isinstance(fields, str):
            fields = [fields]
        if not isinstance(fields, list) or not fields:
            self.error(where, _("name one or more fields."))
            return None
        clean_fields = []
        for name in fields:
            name = FIELD_ALIASES.get(str(name).strip().lower(), str(name).strip().lower())
            if name not in Field.values:
                self.error(
                    where,
                    _("unknown field “%(field)s”; the fields are: %(fields)s.")
                    % {"field": name, "fields": ", ".join(Field.values)},
                )
                ok = False
            elif name not in clean_fields:
                clean_fields.append(name)
        if not ok:
            return None
        if (
            len(clean_fields) > 1
            and not set(clean_fields) <= set(WORD_FIELDS)
            and not set(clean_fields) <= set(MINUTE_FIELDS)
        ):
            self.error(
                where,
                _(
                    "only subject, body, from and to_cc may share a line (or the minutes "
                    "with each other); put %(fields)s in lines of their own."
                )
                % {"fields": ", ".join(f for f in clean_fields if f not in WORD_FIELDS)},
            )
            return None
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not values:
            self.error(where, _("give one or more values."))
            return None
        if not isinstance(negate, bool):
            self.error(where, _("“negate” must be true or false."))
            return None
        clean_values = []
        for value in values:
            checked = self.value(clean_fields[0], value, where)
            if checked is None:
                ok = False
            else:
                clean_values.append(checked)
        if not ok:
            return None
        return {"fields": clean_fields, "values": clean_values, "negate": negate}

    def value(self, name: str, value: Any, where: str) -> str | None:
        if not isinstance(value, str | int) or isinstance(value, bool):
            self.error(where, _("values must be text."))
            return None
        value = str(value)
        try:
            if name in MINUTE_FIELDS:
                parse_minutes(value)
                return value.replace(" ", "")
            value = check_value(value)
        except PatternError as exc:
            self.error(where, str(exc))
            return None
        if name in (Field.STATUS, Field.CHANNEL, Field.PRIORITY):
            known = {
                Field.STATUS: self.statuses,
                Field.CHANNEL: self.channels,
                Field.PRIORITY: self.priorities,
            }[Field(name)]
            code = known.get(value.casefold())
            if code is None:
                self.error(
                    where,
                    _("“%(value)s” is not a %(field)s; choose one of: %(codes)s.")
                    % {
                        "value": value,
                        "field": Field(name).label.lower(),
                        "codes": ", ".join(sorted(set(known.values()))),
                    },
                )
            return code
        if "*" in value:
            return value
        model = {Field.QUEUE: Queue, Field.TYPE: TicketType, Field.CATEGORY: Category}.get(
            Field(name)
        )
        if model is Queue and _queue(value) is None:
            self.error(where, _("there is no queue “%(value)s”.") % {"value": value})
            return None
        if (
            model in (TicketType, Category)
            and not model.objects.filter(name__iexact=value).exists()
        ):
            self.error(
                where,
                _("there is no %(field)s “%(value)s”.")
                % {"field": Field(name).label.lower(), "value": value},
            )
            return None
        return value

    # --- actions ---

    def action(self, data: Any, events: list[str], where: str) -> dict[str, Any] | None:
        if not isinstance(data, dict) or not isinstance(data.get("action"), str):
            self.error(where, _("an action must be an object with an “action” name."))
            return None
        kind = data["action"].strip().lower()
        value = data.get("value", "")
        value = "" if value is None else str(value).strip()
        if kind not in ActionKind.values:
            self.error(
                where,
                _("unknown action “%(action)s”; the actions are: %(actions)s.")
                % {"action": kind, "actions": ", ".join(ActionKind.values)},
            )
            return None
        out: dict[str, Any] = {"action": kind, "value": ""}

        def missing(what: str) -> None:
            self.error(where, what % {"value": value})

        if kind == ActionKind.SET_PRIORITY:
            out["value"] = self.priorities.get(value.casefold(), "")
            if not out["value"]:
                missing(_("“%(value)s” is not a priority; choose low, medium or high."))
                return None
        elif kind == ActionKind.SET_STATUS:
            out["value"] = self.statuses.get(value.casefold(), "")
            if not out["value"]:
                missing(
                    _("“%(value)s” is not a status; choose one of: %(codes)s.").replace(
                        "%(codes)s", ", ".join(Status.values)
                    )
                )
                return None
        elif kind == ActionKind.SET_TYPE:
            out["ticket_type"] = TicketType.objects.filter(name__iexact=value).first()
            if out["ticket_type"] is None:
                missing(_("there is no ticket type “%(value)s”."))
                return None
        elif kind == ActionKind.SET_CATEGORY:
            out["category"] = Category.objects.filter(name__iexact=value).first()
            if out["category"] is None:
                missing(_("there is no category “%(value)s”."))
                return None
        elif kind == ActionKind.SET_QUEUE:
            out["queue"] = _queue(value)
            if out["queue"] is None:
                missing(_("there is no queue “%(value)s” (it may have been deleted)."))
                return None
        elif kind == ActionKind.SET_TEAM:
            out["team"] = Team.objects.filter(name__iexact=value).first()
            if out["team"] is None:
                missing(_("there is no team “%(value)s”."))
                return None
        elif kind in (ActionKind.SET_OWNER, ActionKind.ADD_FOLLOWER):
            out["user"] = _agent(value)
            if out["user"] is None:
                missing(_("no active agent has the address “%(value)s”."))
                return None
        elif kind == ActionKind.APPLY_TEMPLATE:
            out["template"] = TicketTemplate.objects.filter(name__iexact=value).first()
            if out["template"] is None:
                missing(_("there is no template “%(value)s”."))
                return None
        elif kind in (ActionKind.ADD_NOTE, ActionKind.AUTO_REPLY):
            if not value:
                self.error(where, _("write the text."))
                return None
            out["value"] = value
        elif kind == ActionKind.ALARM:
            recipients = data.get("recipients")
            if isinstance(recipients, str):
                recipients = [r for r in recipients.replace(",", " ").split() if r]
            if not isinstance(recipients, list) or not recipients:
                self.error(where, _("an alarm needs one or more recipients (mail addresses)."))
                return None
            clean = []
            for address in recipients:
                try:
                    validate_email(str(address).strip())
                except ValidationError:
                    self.error(where, _("“%(value)s” is not a mail address.") % {"value": address})
                    return None
                clean.append(str(address).strip().lower())
            out["recipients"] = clean
            out["value"] = value
        elif kind == ActionKind.SMS_ALARM:
            numbers = data.get("recipients")
            if isinstance(numbers, str):
                # Commas or lines between numbers: a number may itself hold spaces.
                numbers = [n for n in numbers.replace("\n", ",").split(",") if n.strip()]
            if not isinstance(numbers, list) or not numbers:
                self.error(where, _("an SMS alarm needs one or more phone numbers."))
                return None
            clean = []
            for raw in numbers:
                try:
                    clean.append(normalise_phone(str(raw)))
                except ValidationError:
                    self.error(where, _("“%(value)s” is not a phone number.") % {"value": raw})
                    return None
            out["recipients"] = clean
            out["value"] = value
        if kind in MAIL_ONLY_ACTIONS and Event.TIME in events:
            self.error(
                where,
                _("“%(action)s” acts on an incoming message: not for time rules.")
                % {"action": kind},
            )
            return None
        if kind == ActionKind.FORCE_NEW_TICKET and Event.REPLY not in events:
            self.error(where, _("“force_new_ticket” is for replies: add the event “reply”."))
            return None
        return out


def check_rule(data: dict[str, Any]) -> CleanRule:
    """One rule's data (as in the JSON file), checked; RuleErrors lists every problem."""
    checker = _Checker()
    clean = checker.rule(data, _("Rule"))
    if checker.errors or clean is None:
        raise RuleErrors(checker.errors)
    return clean


@transaction.atomic
def save_rule(clean: CleanRule, rule: Rule | None = None) -> Rule:
    """Create or update a rule (by name when `rule` is not given), replacing its lines and
    actions. Hits stay with the rule."""
    if rule is None:
        rule = Rule.objects.filter(name=clean.name).first() or Rule()
    rule.name = clean.name
    rule.weight = clean.weight
    rule.description = clean.description
    rule.queue = clean.queue
    rule.brand = clean.brand
    rule.continue_matching = clean.continue_matching
    rule.is_active = clean.is_active
    for event in Event.values:
        setattr(rule, f"on_{event}", event in clean.events)
    rule.updated_at = timezone.now()
    rule.save()
    rule.lines.all().delete()
    rule.actions.all().delete()
    rule.lines.model.objects.bulk_create(
        rule.lines.model(rule=rule, position=i, **line) for i, line in enumerate(clean.lines)
    )
    RuleAction.objects.bulk_create(
        RuleAction(rule=rule, position=i, **action) for i, action in enumerate(clean.actions)
    )
    return rule


# --- The JSON file ------------------------------------------------------------------------------


def rule_data(rule: Rule) -> dict[str, Any]:
    actions = []
    for a in rule.actions.all():
        item: dict[str, Any] = {"action": a.action}
        ref = a.queue.slug if a.queue else None
        ref = ref or (a.team.name if a.team else None)
        ref = ref or (a.user.email if a.user else None)
        ref = ref or (a.ticket_type.name if a.ticket_type else None)
        ref = ref or (a.category.name if a.category else None)
        ref = ref or (a.template.name if a.template else None)
        if ref or a.value:
            item["value"] = ref or a.value
        if a.action in (ActionKind.ALARM, ActionKind.SMS_ALARM):
            item["recipients"] = list(a.recipients)
        actions.append(item)
    return {
        "name": rule.name,
        "weight": rule.weight,
        "events": rule.events,
        "queue": rule.queue.slug if rule.queue else None,
        "brand": rule.brand.code if rule.brand else None,
        "active": rule.is_active,
        "continue": rule.continue_matching,
        "description": rule.description,
        "lines": [
            {"fields": list(x.fields), "values": list(x.values), "negate": x.negate}
            for x in rule.lines.all()
        ],
        "actions": actions,
    }


def export_rules() -> dict[str, Any]:
    rules = with_parts(Rule.objects.select_related("queue", "brand").order_by("weight", "name"))
    return {"version": 1, "rules": [rule_data(r) for r in rules]}


def import_rules(text: str | bytes) -> tuple[int, int]:
    """Import a rules file: (created, updated). Every rule is checked first; with any problem
    RuleErrors lists them all and nothing is changed."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RuleErrors([_("The file is not valid JSON: %(error)s") % {"error": exc}]) from exc
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise RuleErrors([_('The file must be a JSON object with a list "rules".')])
    checker = _Checker()
    cleaned = []
    for i, item in enumerate(data["rules"], 1):
        clean = checker.rule(item, _("Rule %(n)s") % {"n": i})
        if clean is not None:
            cleaned.append(clean)
    seen: set[str] = set()
    for clean in cleaned:
        if clean.name in seen:
            checker.errors.append(
                _("The name “%(name)s” is used by more than one rule in the file.")
                % {"name": clean.name}
            )
        seen.add(clean.name)
    if checker.errors:
        raise RuleErrors(checker.errors)
    created = updated = 0
    with transaction.atomic():
        existing = set(Rule.objects.filter(name__in=seen).values_list("name", flat=True))
        for clean in cleaned:
            save_rule(clean)
            if clean.name in existing:
                updated += 1
            else:
                created += 1
    return created, updated
