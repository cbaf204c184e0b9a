"""The whole product on loopback, for the demo and for everything that runs it as real processes.

`demo` is `sync-service demo`. The kit under it is what tests/e2e, bench/ and campaigns/ use too:
`processes` (the console scripts, free ports, a service in a home watched through its log, the
cycle lock, /proc figures), `standin` (the stand-in Exchange server as a process, its control
endpoint), `outlook` (a plain exchangelib client, our external id made visible) and `world` (all of
it together with a home set up through the command line). Installed with the product, so that the
demo runs from a plain wheel install; the product's own packages never import it (the `demo`
command loads it when it runs).
"""
