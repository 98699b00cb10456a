"""Prometheus metrics (prometheus-client), per application instance."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.logins = Counter("idp_logins_total", "Login outcomes", ["outcome"], registry=self.registry)
        self.codes_sent = Counter("idp_codes_sent_total", "Codes sent by mail", registry=self.registry)
        self.mails = Counter("idp_mails_total", "Mails sent", ["template"], registry=self.registry)
        self.mail_failures = Counter("idp_mail_failures_total", "Mails that could not be sent",
                                     registry=self.registry)
        self.locks = Counter("idp_locks_total", "Locks set", ["kind"], registry=self.registry)
        self.tokens = Counter("idp_tokens_total", "Tokens issued and revoked", ["action"],
                              registry=self.registry)
        self.latency = Histogram("idp_request_seconds", "Request latency", ["endpoint"],
                                 registry=self.registry)

    def mail_sent(self, template: str) -> None:
        self.mails.labels(template).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
