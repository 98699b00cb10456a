"""Prometheus metrics (prometheus-client).

One registry per application instance by default. Under gunicorn with several workers, set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory (before the workers start): every worker
then writes its values there and ``/metrics`` adds up all workers (prometheus-client's
multiprocess mode; gunicorn's ``child_exit`` hook should call
``prometheus_client.multiprocess.mark_process_dead(worker.pid)``)."""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


def _multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class Metrics:
    def __init__(self):
        # In multiprocess mode the values live in files: the metrics join no registry (a fresh
        # one collects the files at each scrape), so that several apps in one process agree.
        self.registry = None if _multiprocess() else CollectorRegistry()
        r = self.registry
        self.logins = Counter("idp_logins_total", "Login outcomes", ["outcome"], registry=r)
        self.codes_sent = Counter("idp_codes_sent_total", "Codes sent by mail", registry=r)
        self.mails = Counter("idp_mails_total", "Mails sent", ["template"], registry=r)
        self.mail_failures = Counter("idp_mail_failures_total", "Mails that could not be sent",
                                     registry=r)
        self.locks = Counter("idp_locks_total", "Locks set", ["kind"], registry=r)
        self.tokens = Counter("idp_tokens_total", "Tokens issued and revoked", ["action"],
                              registry=r)
        self.latency = Histogram("idp_request_seconds", "Request latency", ["endpoint"],
                                 registry=r)
        # What argon2id costs this process (its lanes run in threads of their own: process
        # CPU time around each hash and verification), to size the servers and so that
        # ``make bench`` tells the provider's own cost from the hash's (issue 15).
        self.password_hash_cpu = Counter("idp_password_hash_cpu_seconds",
                                         "CPU time spent hashing and verifying passwords",
                                         registry=r)

    def mail_sent(self, template: str) -> None:
        self.mails.labels(template).inc()

    def event(self, name: str) -> None:
        """Counters fed by security events (``idp.events``) that no caller counts itself."""
        if name in ("token_issued", "token_revoked"):
            self.tokens.labels(name.removeprefix("token_")).inc()

    def exposition(self) -> bytes:
        if self.registry is not None:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
