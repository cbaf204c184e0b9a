"""The Microsoft Graph backend (issue 16): Graph v1.0 over httpx, natively async under trio, with
the club's app's tokens (tokens.TokenProvider)."""
