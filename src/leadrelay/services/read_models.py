"""What every read model shares: frozen pydantic models, one way to write a time.

The read models are what the command line and the Python API return and what ``--json`` prints:
``model_dump(mode="json")`` / ``model_dump_json()`` is the JSON, so an HTTP API can return the
same models. Field names that are Python keywords (``from``) are aliases, used when serialising.

Times: a service builds a model with :func:`local`, which puts every time in the playbook's zone;
:data:`Moment` refuses a time without a zone and writes it as ISO 8601 with its offset, to the
second (``2026-11-20T15:00:00+09:00``).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Annotated, Any, Self, overload

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, PlainSerializer

from leadrelay.domain.evaluation import StageChange
from leadrelay.domain.playbook import Playbook


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a time in a read model must carry its zone")
    return moment


def iso_time(moment: datetime) -> str:
    """The one way read models write a time: ISO 8601 with the offset, to the second."""
    return moment.isoformat(timespec="seconds")


#: A time zone–aware moment, serialised by :func:`iso_time`.
Moment = Annotated[datetime, AfterValidator(_aware), PlainSerializer(iso_time, return_type=str, when_used="json")]


@overload
def local(moment: datetime, tz: tzinfo) -> datetime: ...
@overload
def local(moment: datetime | None, tz: tzinfo) -> datetime | None: ...
def local(moment: datetime | None, tz: tzinfo) -> datetime | None:
    """``moment`` in the playbook's zone (``tz``); None stays None."""
    return None if moment is None else moment.astimezone(tz)


class ReadModel(BaseModel):
    """Base of every read model: frozen, built by name, serialised by alias."""

    model_config = ConfigDict(frozen=True, validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    def as_json(self) -> dict[str, Any]:
        """The model as JSON values (what ``--json`` prints)."""
        return self.model_dump(mode="json")


class PlaybookRef(ReadModel):
    """Which playbook a report was made with."""

    id: str
    version: str
    hash: str


class StageMove(ReadModel):
    """One move of a lead through the lifecycle, with what caused it."""

    at: Moment
    from_stage: str = Field(serialization_alias="from", validation_alias=AliasChoices("from", "from_stage"))
    to_stage: str = Field(serialization_alias="to", validation_alias=AliasChoices("to", "to_stage"))
    trigger: str
    actor: str
    rule: str | None
    reason: str

    @classmethod
    def of(cls, change: StageChange, tz: tzinfo, **extra: Any) -> Self:
        """The move in the playbook's zone ``tz``; ``extra``: the fields a subclass adds."""
        return cls(
            at=local(change.at, tz),
            from_stage=change.from_stage.value,
            to_stage=change.to_stage.value,
            trigger=change.trigger.value,
            actor=change.actor,
            rule=change.rule_id,
            reason=change.reason,
            **extra,
        )


def department_labels(playbook: Playbook, department: str | None) -> dict[str, str] | None:
    """A routing department's name in each language (``None``: no such department)."""
    routing = playbook.routing
    if department is None or routing is None or department not in routing.departments:
        return None
    found = routing.departments[department]
    return {"en": found.label("en"), "ja": found.label("ja")}
