"""The contacts' plan: what one cycle does with each contact, as objects (the appointments' plan is
`plan.py`). Each action carries the observation it was decided from and the decision (its field
groups for either side and the base they agree on); `plan_contacts` makes the plan, the
mass-unlisting guard's verdict in `paused`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence, TypeVar

from .contact_decide import ContactDecision, ContactObservation, decide_contact, mass_unlisting
from .model import Policy
from .permissions import FieldMode


@dataclass(frozen=True)
class ContactAction:
    observation: ContactObservation
    decision: ContactDecision

    @property
    def person_id(self) -> int | None:
        link = self.observation.link
        return link.person_id if link is not None else self.observation.person_id

    @property
    def writes_exchange(self) -> bool:
        """Field groups go to Exchange (an update of an existing contact)."""
        return bool(self.decision.to_exchange)


@dataclass(frozen=True)
class MakeInExchange(ContactAction):
    """A person on the list with no contact: its contact made (the names and the exported groups)."""


@dataclass(frozen=True)
class AdoptContact(ContactAction):
    """An Exchange contact that is the person (picked with +ADD, or found before a create): linked,
    both sides merged."""


@dataclass(frozen=True)
class UpdateGroups(ContactAction):
    """Field groups written to either side, or only the base both now agree on recorded."""


@dataclass(frozen=True)
class RecordVersion(ContactAction):
    """Nothing to write: the Exchange version this decision accounted for is recorded."""


@dataclass(frozen=True)
class Unlist(ContactAction):
    """The contact was deleted in Exchange: the person leaves the user's list (and is kept)."""


@dataclass(frozen=True)
class Unlink(ContactAction):
    """The person was deleted or taken off the list: the link is forgotten, the contact stays."""


@dataclass(frozen=True)
class DeleteInExchange(ContactAction):
    """The contact the sync made is deleted in Exchange (its person is gone or was taken off the
    list with its contact)."""


_ACTIONS: Mapping[str, type[ContactAction]] = {
    "create": MakeInExchange,
    "adopt": AdoptContact,
    "update": UpdateGroups,
    "none": RecordVersion,
    "unlist": Unlist,
    "unlink": Unlink,
    "delete-remote": DeleteInExchange,
}

A = TypeVar("A", bound=ContactAction)


@dataclass(frozen=True)
class ContactPlan:
    actions: tuple[ContactAction, ...] = ()
    twins: tuple[str, ...] = ()  # Exchange contacts a create sent again made a second time: deleted
    unbooked: tuple[int, ...] = ()  # auto-synced persons no booking keeps listed: taken off the list
    paused: str | None = None  # the mass-unlisting guard stopped the list; nothing to carry out

    def of(self, kind: type[A]) -> list[A]:
        return [a for a in self.actions if isinstance(a, kind)]

    @property
    def updates_to_exchange(self) -> list[ContactAction]:
        """The updates and adoptions that write field groups into an existing contact."""
        return [a for a in self.actions if isinstance(a, (UpdateGroups, AdoptContact)) and a.writes_exchange]


def as_action(observation: ContactObservation, decision: ContactDecision) -> ContactAction | None:
    """The decision as a plan object; None when there is nothing to do (skipped, or nothing new)."""
    if decision.action == "skip" or (decision.action == "none" and not decision.change_key):
        return None
    return _ACTIONS[decision.action](observation, decision)


def plan_contacts(
    observations: Sequence[ContactObservation],
    modes: Mapping[str, FieldMode],
    policy: Policy,
    linked: int,
    twins: Sequence[str] = (),
    unbooked: Sequence[int] = (),
) -> ContactPlan:
    """Every contact decided (`decide_contact`), the guard asked about the whole (`mass_unlisting`)."""
    decisions = [(o, decide_contact(o, modes, policy)) for o in observations]
    actions = tuple(a for o, d in decisions if (a := as_action(o, d)) is not None)
    paused = mass_unlisting([d for _, d in decisions], linked)
    return ContactPlan(actions, tuple(twins), tuple(unbooked), paused)
