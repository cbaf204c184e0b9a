"""The gateway's EWS backend, carried out with exchangelib.

`backend` is the backend (registered as "ews"): it opens a mailbox per call and runs its work in
worker threads; `mailbox` does the blocking work for one mailbox; `connection` builds and caches
exchangelib accounts; `convert` is between exchangelib's items and the wire's entries
(protocol/entries.py); `services` answers per response message; `folders` keeps each mailbox's
sub-folders; `errors` maps every exchangelib failure to the gateway's stable codes.
"""
