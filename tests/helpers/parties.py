"""The relying parties of the protocol tests: one of each kind the provider serves, with
their own key pairs (generated here; only the public halves are registered) and a secret read
from the environment through the clients file's ``${VAR}`` syntax."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

from joserfc.jwk import ECKey, RSAKey

from tests.helpers.rp import RelyingParty

SECRET = "rp-secret-for-the-protocol-tests-0123456789"
SECRET_ENV = "IDP_TEST_RP_SECRET"
# The demo secrets of the shipped clients.yaml (demo.env, loaded by tests/conftest.py).
PORTAL_SECRET = os.environ["IDP_PORTAL_SECRET"]
FRANCECONNECT_SECRET = os.environ["IDP_FRANCECONNECT_SECRET"]


class RpKeys:
    """One relying party's own key pairs: signing (RSA and EC) and encryption (RSA and EC)."""

    def __init__(self, name: str):
        self.sig_rsa = RSAKey.generate_key(2048, parameters={"kid": f"{name}-sig-rsa"})
        self.sig_ec = ECKey.generate_key("P-256", parameters={"kid": f"{name}-sig-ec"})
        self.enc_rsa = RSAKey.generate_key(2048, parameters={"kid": f"{name}-enc-rsa"})
        self.enc_ec = ECKey.generate_key("P-256", parameters={"kid": f"{name}-enc-ec"})

    def public_jwks(self) -> dict:
        keys = [(self.sig_rsa, "sig"), (self.sig_ec, "sig"), (self.enc_rsa, "enc"),
                (self.enc_ec, "enc")]
        return {"keys": [{**key.as_dict(private=False), "use": use} for key, use in keys]}


AGENCY_KEYS = RpKeys("agency")
SEALED_KEYS = RpKeys("sealed")

PORTAL_CB = "http://127.0.0.1:5001/callback"
AGENCY_CB = "https://agency.example/cb"
PARTNER_CB = "https://partner-a.example/cb"
THIRD_CB = "https://partner-b.example/cb"
SEALED_CB = "https://sealed.example/cb"
QUICK_CB = "https://quick.example/cb"
MOBILE_CB = "http://127.0.0.1/callback"        # loopback without port: any port (RFC 8252)


def register(app_config: dict, entries: str) -> dict:
    """``app_config`` with more relying parties appended to its clients file (YAML list
    entries indented under ``clients:``)."""
    path = Path(app_config["CLIENTS_FILE"])
    path.write_text(path.read_text() + entries)
    return app_config


def clients_yaml(backchannel_uri: str) -> str:
    return f"""
clients:
  - client_id: portal                  # the shipped portal: secret_basic, first party
    client_name: Mon compte ameli
    client_secret: ${{IDP_PORTAL_SECRET}}
    redirect_uris: [{PORTAL_CB}]
    post_logout_redirect_uris: ["http://127.0.0.1:5001/", "http://127.0.0.1:5001/bye?x=1"]
    scope: openid profile email birth
    grant_types: [authorization_code, refresh_token]
    skip_consent: true
  - client_id: agency                  # private_key_jwt, ES256, request objects, back-channel
    client_name: Agence
    token_endpoint_auth_method: private_key_jwt
    token_endpoint_auth_signing_alg: RS256
    jwks: {json.dumps(AGENCY_KEYS.public_jwks())}
    redirect_uris: [{AGENCY_CB}]
    post_logout_redirect_uris: ["https://agency.example/"]
    scope: openid profile email
    grant_types: [authorization_code, refresh_token]
    id_token_signed_response_alg: ES256
    userinfo_signed_response_alg: ES256
    userinfo_encrypted_response_alg: RSA-OAEP
    userinfo_encrypted_response_enc: A256GCM
    backchannel_logout_uri: {backchannel_uri}
    skip_consent: true
  - client_id: partner                 # secret_post, pairwise (sector partner-a.example)
    client_secret: ${{{SECRET_ENV}}}
    token_endpoint_auth_method: client_secret_post
    redirect_uris: [{PARTNER_CB}]
    scope: openid profile email
    subject_type: pairwise
    userinfo_signed_response_alg: RS256
    skip_consent: true
  - client_id: thirdparty              # needs consent; pairwise (sector partner-b.example)
    client_name: Service partenaire
    client_secret: ${{{SECRET_ENV}}}
    redirect_uris: [{THIRD_CB}]
    scope: openid profile
    subject_type: pairwise
  - client_id: sealed                  # encrypted ID tokens and userinfo
    client_secret: ${{{SECRET_ENV}}}
    jwks: {json.dumps(SEALED_KEYS.public_jwks())}
    redirect_uris: [{SEALED_CB}]
    scope: openid profile email
    id_token_encrypted_response_alg: RSA-OAEP-256
    id_token_encrypted_response_enc: A128CBC-HS256
    userinfo_encrypted_response_alg: ECDH-ES
    userinfo_encrypted_response_enc: A256GCM
    skip_consent: true
  - client_id: quick                   # logins without the e-mailed code (issue 11.7)
    client_secret: ${{{SECRET_ENV}}}
    redirect_uris: [{QUICK_CB}]
    scope: openid profile email
    skip_consent: true
    require_security_code: false
  - client_id: mobile                  # public: PKCE required
    token_endpoint_auth_method: none
    redirect_uris: [{MOBILE_CB}]
    scope: openid profile email
    grant_types: [authorization_code, refresh_token]
    skip_consent: true
"""



def relying_parties(server) -> SimpleNamespace:
    """A RelyingParty for each registered client, talking to this server."""
    return SimpleNamespace(
        portal=RelyingParty(server, "portal", PORTAL_CB, secret=PORTAL_SECRET),
        agency=RelyingParty(server, "agency", AGENCY_CB, method="private_key_jwt",
                            keys=AGENCY_KEYS, alg="ES256"),
        partner=RelyingParty(server, "partner", PARTNER_CB, secret=SECRET,
                             method="client_secret_post"),
        thirdparty=RelyingParty(server, "thirdparty", THIRD_CB, secret=SECRET,
                                scope="openid profile"),
        sealed=RelyingParty(server, "sealed", SEALED_CB, secret=SECRET, keys=SEALED_KEYS,
                            sealed=True),
        mobile=RelyingParty(server, "mobile", MOBILE_CB, method="none"),
        quick=RelyingParty(server, "quick", QUICK_CB, secret=SECRET),
    )
