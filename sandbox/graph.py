"""Exchange Online's side as a person sees it, with plain Microsoft Graph calls: httpx, an app token
from the identity platform's token endpoint (client-credentials grant), TLS verified against the
stand-in's CA. Nothing of the gateway's Graph backend is used, so this checks it from outside."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


@dataclass(frozen=True)
class ClubApp:
    """A club's app registration in a tenant, as the stand-in's `--app` and `sync-service app set`
    take it."""

    tenant: str
    client_id: str
    secret: str

    @property
    def spec(self) -> str:
        """`--app TENANT:CLIENT_ID:SECRET` of the stand-in."""
        return f"{self.tenant}:{self.client_id}:{self.secret}"


def trusting(ca_file: Path) -> ssl.SSLContext:
    """A TLS context that verifies against `ca_file` only."""
    return ssl.create_default_context(cafile=str(ca_file))


def app_token(authority: str, app: ClubApp, ca_file: Path) -> str:
    """A Graph token for `app` from the token endpoint at `authority` (https://HOST:PORT/TENANT)."""
    answer = httpx.post(
        f"{authority}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app.client_id,
            "client_secret": app.secret,
            "scope": GRAPH_SCOPE,
        },
        verify=trusting(ca_file),
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


class GraphMailbox:
    """One mailbox's default calendar through Graph v1.0 (`/users/{address}/…`)."""

    def __init__(self, graph_url: str, address: str, token: str, ca_file: Path) -> None:
        self._client = httpx.Client(
            base_url=f"{graph_url}/users/{address}",
            headers={"Authorization": f"Bearer {token}", "Prefer": 'outlook.body-content-type="text"'},
            verify=trusting(ca_file),
            timeout=30,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> GraphMailbox:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def events(self) -> list[dict[str, Any]]:
        """Every event of the default calendar (all pages)."""
        found: list[dict[str, Any]] = []
        url: str | None = "/calendar/events?$top=100"
        while url is not None:
            answer = self._client.get(url)
            answer.raise_for_status()
            page = answer.json()
            found += page["value"]
            url = page.get("@odata.nextLink")
        return found

    def subjects(self) -> list[str]:
        return sorted(event["subject"] for event in self.events())

    def event(self, subject: str) -> dict[str, Any]:
        """The one event called `subject`."""
        (event,) = [e for e in self.events() if e["subject"] == subject]
        return event

    def update(self, event_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        answer = self._client.patch(f"/events/{event_id}", json=changes)
        answer.raise_for_status()
        return dict(answer.json())

    def delete(self, event_id: str) -> None:
        self._client.delete(f"/events/{event_id}").raise_for_status()

    def create(self, event: dict[str, Any]) -> dict[str, Any]:
        """`POST events`: a new event (a series, with a `recurrence`) in the default calendar."""
        answer = self._client.post("/events", json=event)
        answer.raise_for_status()
        return dict(answer.json())

    def instances(self, master_id: str, start: str, end: str) -> list[dict[str, Any]]:
        """The occurrences and exceptions of the series `master_id` between `start` and `end` (ISO, UTC)."""
        answer = self._client.get(f"/events/{master_id}/instances", params={"startDateTime": start, "endDateTime": end})
        answer.raise_for_status()
        return list(answer.json()["value"])
