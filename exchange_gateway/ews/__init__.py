"""The gateway's Exchange Web Services operations, carried out with exchangelib.

`entries` is the neutral schema items cross the wire in; `errors` maps every failure to a stable
code; `connection` builds and caches exchangelib accounts; `mailbox` does the blocking work for
one mailbox; `operations` puts it on the wire, in worker threads under limits and deadlines.
"""
