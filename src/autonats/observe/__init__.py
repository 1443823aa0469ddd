"""The mesh's observability, beside the runtime: what a running mesh shows.

- :mod:`~autonats.observe.stats`: counters every client and handler keeps;
- :mod:`~autonats.observe.service_api`: the NATS Services API ($SRV) responder;
- :mod:`~autonats.observe.discovery`: finding running services through it;
- :mod:`~autonats.observe.metrics`: the Prometheus collector over the counters;
- :mod:`~autonats.observe.tracing`: OpenTelemetry spans and W3C headers.

Nothing here imports the runtime; the runtime reports into these.
"""
