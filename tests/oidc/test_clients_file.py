"""clients.yaml: every validation error named with its line, the Client's checks as Authlib
calls them, secrets by environment variable or hash, and the hot reload."""

from __future__ import annotations

import hashlib
import logging
import os
from datetime import timedelta
from pathlib import Path
from textwrap import dedent

import pytest

from idp.oidc.clients import (
    Client,
    ClientRegistry,
    ClientsFileError,
    RegistryHolder,
    check_clients_file,
    load_clients,
)
from idp.policy import Policy

SHIPPED = Path(__file__).resolve().parents[2] / "clients.yaml"
SECRET = "s3cret-0123456789-abcdefghijklmnop"          # 34 characters
ENV = {"PORTAL_SECRET": SECRET}
RSA_KEY = {"kty": "RSA", "use": "enc", "kid": "r1", "n": "sXch", "e": "AQAB"}
EC_KEY = {"kty": "EC", "use": "enc", "kid": "e1", "crv": "P-256", "x": "f83O", "y": "x_FE"}


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)     # so that errors read "clients.yaml:LINE: …"


def write(text: str) -> str:
    Path("clients.yaml").write_text(dedent(text))
    return "clients.yaml"


def check(text: str, environ=ENV) -> list[str]:
    return check_clients_file(write(text), environ)


def load(text: str, environ=ENV) -> ClientRegistry:
    return load_clients(write(text), environ)


def assert_error(errors: list[str], line: int, *fragments: str) -> None:
    prefix = f"clients.yaml:{line}: "
    assert any(e.startswith(prefix) and all(f in e for f in fragments) for e in errors), errors


def confidential(**extra: str) -> str:
    """A valid confidential client, lines 1-5, then one "key: value" line per extra field."""
    text = """\
        clients:
          - client_id: portal
            client_secret: ${PORTAL_SECRET}
            redirect_uris: [https://portal.example/callback]
            scope: openid profile email
        """
    return dedent(text) + "".join(f"    {k}: {v}\n" for k, v in extra.items())


def second_client(client_id: str) -> str:
    """Three lines to append after ``confidential()``."""
    return (f"  - client_id: {client_id}\n"
            "    client_secret: ${PORTAL_SECRET}\n"
            "    redirect_uris: [https://other.example/cb]\n")


def public(**extra: str) -> str:
    text = """\
        clients:
          - client_id: mobile-app
            token_endpoint_auth_method: none
            redirect_uris: [fr.ameli.app:/oauth2redirect, http://127.0.0.1/callback]
        """
    return dedent(text) + "".join(f"    {k}: {v}\n" for k, v in extra.items())


# -- valid files of each kind ------------------------------------------------------------

def test_a_confidential_client_loads_with_the_registration_defaults():
    client = load(confidential()).get("portal")
    assert isinstance(client, Client)
    assert client.token_endpoint_auth_method == "client_secret_basic"
    assert client.grant_types == ["authorization_code"]
    assert client.response_types == ["code"]
    assert client.id_token_signed_response_alg == "RS256"
    assert client.userinfo_signed_response_alg is None
    assert client.subject_type == "public"
    assert (client.skip_consent, client.require_security_code) == (False, True)
    assert not client.is_public and not client.requires_pkce


def test_a_confidential_client_may_require_pkce():
    assert load(confidential(require_pkce="true")).get("portal").requires_pkce


def test_a_public_client_loads_and_requires_pkce():
    client = load(public()).get("mobile-app")
    assert client.is_public and client.requires_pkce


def test_a_private_key_jwt_client_loads_with_its_public_keys():
    text = """\
        clients:
          - client_id: partner
            token_endpoint_auth_method: private_key_jwt
            token_endpoint_auth_signing_alg: ES256
            redirect_uris: [https://partner.example/cb]
            jwks: {keys: [{kty: EC, use: sig, crv: P-256, x: f83O, y: x_FE}]}
        """
    client = load(text).get("partner")
    assert client.jwks == {"keys": [{"kty": "EC", "use": "sig", "crv": "P-256",
                                     "x": "f83O", "y": "x_FE"}]}
    assert type(client.jwks) is dict and client.jwks_uri is None


def test_an_encrypting_client_gets_a256gcm_when_it_gives_no_enc():
    text = confidential(id_token_encrypted_response_alg="RSA-OAEP-256",
                        userinfo_encrypted_response_alg="ECDH-ES",
                        userinfo_encrypted_response_enc="A128CBC-HS256",
                        jwks=f"{{keys: [{RSA_KEY}, {EC_KEY}]}}".replace("'", ""))
    client = load(text).get("portal")
    assert client.id_token_encrypted_response_enc == "A256GCM"
    assert client.userinfo_encrypted_response_enc == "A128CBC-HS256"


def test_an_encrypting_client_may_publish_its_keys_at_a_jwks_uri():
    text = confidential(id_token_encrypted_response_alg="RSA-OAEP",
                        jwks_uri="https://portal.example/jwks")
    assert load(text).get("portal").jwks_uri == "https://portal.example/jwks"


def test_the_registry_iterates_in_file_order_and_counts():
    text = confidential() + second_client("other")
    registry = load(text)
    assert [c.client_id for c in registry] == ["portal", "other"]
    assert len(registry) == 2 and set(registry.by_id) == {"portal", "other"}
    assert registry.get("nobody") is None and registry.get(None) is None


# -- secrets -----------------------------------------------------------------------------

def test_a_secret_from_the_environment_verifies_and_a_wrong_one_does_not():
    client = load(confidential()).get("portal")
    assert client.check_client_secret(SECRET)
    assert not client.check_client_secret(SECRET + "x")
    assert not client.check_client_secret(SECRET[:-1])
    assert not client.check_client_secret("")
    assert not client.check_client_secret(None)


def test_a_hashed_secret_verifies_and_a_wrong_one_does_not():
    digest = hashlib.sha256(b"partner-secret").hexdigest().upper()
    text = f"""\
        clients:
          - client_id: partner
            client_secret_hash: "sha256:{digest}"
            token_endpoint_auth_method: client_secret_post
            redirect_uris: [https://partner.example/cb]
        """
    client = load(text, environ={}).get("partner")
    assert client.check_client_secret("partner-secret")
    assert not client.check_client_secret("partner-secreT")


def test_the_secret_is_not_in_the_clients_repr_nor_its_metadata():
    client = load(confidential()).get("portal")
    digest = hashlib.sha256(SECRET.encode()).hexdigest()
    assert SECRET not in repr(client) and digest not in repr(client)
    assert digest not in str(client.client_metadata)


def test_a_literal_secret_is_refused_without_being_repeated():
    errors = check(confidential().replace("${PORTAL_SECRET}", "hunter2-literal"))
    assert_error(errors, 3, "a literal secret is not allowed: use ${VAR} or client_secret_hash")
    assert "hunter2" not in "".join(errors)


def test_an_unset_variable_is_named():
    errors = check(confidential(), environ={})
    assert_error(errors, 3, "environment variable PORTAL_SECRET is not set")


def test_a_secret_of_31_characters_is_refused_and_32_accepted():
    errors = check(confidential(), environ={"PORTAL_SECRET": "x" * 31})
    assert_error(errors, 3, "PORTAL_SECRET is shorter than 32 characters")
    assert "x" * 31 not in "".join(errors)
    assert check(confidential(), environ={"PORTAL_SECRET": "x" * 32}) == []


def test_the_policy_sets_the_secret_length_and_the_lifetimes_bounds():
    strict = Policy(client_secret_min_length=40,
                    client_access_token_max_lifetime=timedelta(minutes=5))
    assert_error(check_clients_file(write(confidential()), ENV, strict), 3,
                 "PORTAL_SECRET is shorter than 40 characters")
    text = confidential(access_token_lifetime="600")
    assert check(text) == []
    assert_error(check_clients_file(write(text), {"PORTAL_SECRET": "x" * 40}, strict), 6,
                 "access_token_lifetime: expected seconds between 1 and 300")


def test_a_malformed_hash_is_refused():
    text = confidential().replace("client_secret: ${PORTAL_SECRET}",
                                  'client_secret_hash: "md5:abc"')
    assert_error(check(text), 3, 'expected "sha256:" followed by 64 hexadecimal digits')


def test_a_secret_and_a_hash_together_are_refused():
    text = confidential(client_secret_hash='"sha256:' + "0" * 64 + '"')
    assert_error(check(text), 6, "not both")


def test_a_public_client_with_a_secret_is_refused():
    errors = check(public(client_secret="${PORTAL_SECRET}"))
    assert_error(errors, 5, "public client", "must not have a secret")


def test_a_private_key_jwt_client_with_an_unused_secret_is_refused():
    text = confidential(token_endpoint_auth_method="private_key_jwt",
                        jwks_uri="https://portal.example/jwks")
    assert_error(check(text), 3, "private_key_jwt authenticates with keys")


def test_a_confidential_client_without_a_secret_is_refused():
    text = """\
        clients:
          - client_id: partner
            token_endpoint_auth_method: client_secret_post
            redirect_uris: [https://partner.example/cb]
        """
    assert_error(check(text), 3, "client_secret_post needs client_secret")


# -- fields and types --------------------------------------------------------------------

def test_an_unknown_field_is_named_with_a_suggestion():
    errors = check(confidential(redirect_uri="https://portal.example/callback"))
    assert_error(errors, 6, "unknown field 'redirect_uri'", "did you mean 'redirect_uris'?")


def test_an_unknown_field_far_from_any_name_gets_no_suggestion():
    errors = check(confidential(colour="blue"))
    assert_error(errors, 6, "unknown field 'colour'")
    assert "did you mean" not in errors[0]


def test_a_missing_client_id_is_reported_at_its_entry():
    text = """\
        clients:
          - client_name: Nameless
            client_secret: ${PORTAL_SECRET}
            redirect_uris: [https://x.example/cb]
        """
    assert_error(check(text), 2, "client_id is missing")


def test_a_duplicate_client_id_names_the_first_line():
    text = confidential() + second_client("portal")
    assert_error(check(text), 6, "duplicate client_id 'portal' (first at line 2)")


def test_a_string_where_a_list_is_expected_is_refused():
    text = confidential().replace("[https://portal.example/callback]",
                                  "https://portal.example/callback")
    errors = check(text)
    assert_error(errors, 4, "redirect_uris: expected a list, got a string")
    assert len(errors) == 1, errors


def test_a_list_where_a_string_is_expected_is_refused():
    text = confidential().replace("scope: openid profile email", "scope: [openid, email]")
    assert_error(check(text), 5, "scope: expected a string, got a list")


def test_a_boolean_where_an_integer_is_expected_is_refused():
    assert_error(check(confidential(default_max_age="yes")), 6,
                 "default_max_age: expected an integer, got a boolean")


def test_a_key_given_twice_is_refused():
    assert_error(check(confidential(scope="openid")), 6, "duplicate key 'scope'")


def test_a_merged_key_may_be_overridden_without_a_duplicate_error():
    text = """\
        clients:
          - &base
            client_id: portal
            client_secret: ${PORTAL_SECRET}
            redirect_uris: [https://portal.example/callback]
          - <<: *base
            client_id: other
        """
    assert [c.client_id for c in load(text)] == ["portal", "other"]


def test_response_types_other_than_code_are_refused():
    assert_error(check(confidential(response_types="[code, id_token]")), 6,
                 'only ["code"] is supported')


def test_grant_types_other_than_code_and_refresh_are_refused():
    errors = check(confidential(grant_types="[authorization_code, client_credentials]"))
    assert_error(errors, 6, "'client_credentials' is not supported")


def test_an_unknown_auth_method_is_refused():
    assert_error(check(confidential(token_endpoint_auth_method="client_secret_jwt")), 6,
                 "token_endpoint_auth_method 'client_secret_jwt' is not one of")


# -- redirect URIs -----------------------------------------------------------------------

@pytest.mark.parametrize("uri, problem", [
    ("/callback", "is not an absolute URI"),
    ("https://portal.example/cb#top", "must not contain a fragment"),
    ("http://portal.example/cb", "uses http for a non-loopback host"),
    ("http://10.0.0.1/cb", "uses http for a non-loopback host"),
    ("fr.ameli.app:/oauth2redirect", "allowed only for public clients"),
    ("javascript:alert(1)", "is not a private-use scheme"),
    ("https://user@portal.example/cb", "must not contain user information"),
])
def test_a_bad_redirect_uri_is_named_on_its_line(uri, problem):
    text = confidential().replace(
        "    redirect_uris: [https://portal.example/callback]\n",
        f"    redirect_uris:\n      - https://portal.example/callback\n      - {uri}\n")
    assert_error(check(text), 6, f"redirect_uris: '{uri}'", problem)


@pytest.mark.parametrize("uri", ["http://127.0.0.1:8080/cb", '"http://[::1]/cb"',
                                 "http://localhost:3000/cb"])
def test_http_is_accepted_on_loopback_hosts(uri):
    assert check(confidential().replace("https://portal.example/callback", uri)) == []


def test_a_private_use_scheme_is_accepted_for_a_public_client():
    assert check(public()) == []


def test_a_relative_post_logout_redirect_uri_is_refused():
    assert_error(check(confidential(post_logout_redirect_uris="[/logged-out]")), 6,
                 "post_logout_redirect_uris: '/logged-out' is not an absolute URI")


def test_a_client_without_redirect_uri_is_refused():
    text = confidential().replace("    redirect_uris: [https://portal.example/callback]\n", "")
    assert_error(check(text), 2, "at least one redirect URI is required")


# -- algorithms and keys -----------------------------------------------------------------

def test_an_unsupported_signing_algorithm_is_refused():
    assert_error(check(confidential(id_token_signed_response_alg="HS256")), 6,
                 "unsupported algorithm 'HS256'")


def test_an_unsupported_encryption_algorithm_and_enc_are_refused():
    errors = check(confidential(jwks_uri="https://portal.example/jwks",
                                id_token_encrypted_response_alg="RSA1_5",
                                userinfo_encrypted_response_alg="RSA-OAEP",
                                userinfo_encrypted_response_enc="A128GCM"))
    assert_error(errors, 7, "unsupported algorithm 'RSA1_5'")
    assert_error(errors, 9, "unsupported content encryption 'A128GCM'")


def test_an_enc_without_its_alg_is_refused():
    assert_error(check(confidential(id_token_encrypted_response_enc="A256GCM")), 6,
                 "id_token_encrypted_response_enc is set without id_token_encrypted_response_alg")


def test_encryption_without_any_client_key_is_refused():
    assert_error(check(confidential(userinfo_encrypted_response_alg="RSA-OAEP")), 6,
                 "encryption needs the client's public key")


def test_rsa_oaep_needs_an_rsa_key_in_jwks():
    text = confidential(id_token_encrypted_response_alg="RSA-OAEP",
                        jwks=f"{{keys: [{EC_KEY}]}}".replace("'", ""))
    assert_error(check(text), 6, "jwks has no RSA key usable for RSA-OAEP")


def test_ecdh_es_needs_an_ec_key_in_jwks():
    text = confidential(id_token_encrypted_response_alg="ECDH-ES",
                        jwks=f"{{keys: [{RSA_KEY}]}}".replace("'", ""))
    assert_error(check(text), 6, "jwks has no EC key usable for ECDH-ES")


def test_a_signing_only_key_does_not_serve_encryption():
    key = {**RSA_KEY, "use": "sig"}
    text = confidential(id_token_encrypted_response_alg="RSA-OAEP",
                        jwks=f"{{keys: [{key}]}}".replace("'", ""))
    assert_error(check(text), 6, "jwks has no RSA key usable for RSA-OAEP")


def test_jwks_and_jwks_uri_together_are_refused():
    text = confidential(jwks=f"{{keys: [{RSA_KEY}]}}".replace("'", ""),
                        jwks_uri="https://portal.example/jwks")
    assert_error(check(text), 7, "set jwks or jwks_uri, not both")


def test_private_key_jwt_without_keys_is_refused():
    text = """\
        clients:
          - client_id: partner
            token_endpoint_auth_method: private_key_jwt
            redirect_uris: [https://partner.example/cb]
        """
    assert_error(check(text), 3, "private_key_jwt needs the client's public keys")


def test_a_private_key_in_jwks_is_refused_without_being_repeated():
    key = {**RSA_KEY, "d": "very-private-exponent"}
    errors = check(confidential(jwks=f"{{keys: [{key}]}}".replace("'", "")))
    assert_error(errors, 6, "jwks: key 1 is a private key (has 'd')")
    assert "very-private" not in "".join(errors)


# -- subjects ----------------------------------------------------------------------------

def test_an_unknown_subject_type_is_refused():
    assert_error(check(confidential(subject_type="per-client")), 6,
                 "subject_type 'per-client' is not public or pairwise")


def test_pairwise_with_several_hosts_and_no_sector_uri_is_refused():
    text = confidential(subject_type="pairwise").replace(
        "[https://portal.example/callback]", "[https://a.example/cb, https://b.example/cb]")
    assert_error(check(text), 6, "pairwise subjects need one sector")


def test_pairwise_sector_is_the_single_redirect_host_or_the_sector_uri_host():
    client = load(confidential(subject_type="pairwise")).get("portal")
    assert client.sector_identifier == "portal.example"
    text = confidential(subject_type="pairwise",
                        sector_identifier_uri="https://sector.example/uris.json").replace(
        "[https://portal.example/callback]", "[https://a.example/cb, https://b.example/cb]")
    assert load(text).get("portal").sector_identifier == "sector.example"


# -- whole-file errors -------------------------------------------------------------------

def test_an_empty_file_is_refused():
    assert_error(check(""), 1, "the file is empty")
    assert_error(check("# only a comment\n"), 1, "the file is empty")


def test_a_file_without_a_clients_list_is_refused():
    assert_error(check("relying_parties: []\n"), 1, "expected a top-level 'clients:' list")
    assert_error(check("client: []\n"), 1, "unknown top-level key 'client'",
                 "did you mean 'clients'?")
    assert_error(check("# RPs\nclients:\n"), 2, "expected a top-level 'clients:' list")


def test_a_yaml_syntax_error_gives_its_line():
    text = confidential().replace("scope: openid profile email", "scope: [openid")
    assert_error(check(text), 6, "YAML syntax error")


def test_every_error_of_the_file_is_reported_in_line_order():
    text = """\
        clients:
          - client_id: portal
            client_secret: literal
            redirect_uris: [http://portal.example/cb]
            colour: blue
          - client_id: mobile
            token_endpoint_auth_method: none
            redirect_uris: [fr.ameli.app:/cb]
            scope: openid
            scope: openid email
        """
    with pytest.raises(ClientsFileError) as raised:
        load(text)
    errors = raised.value.errors
    assert [e.split(":")[1] for e in errors] == ["3", "4", "5", "10"], errors
    assert str(raised.value) == "\n".join(errors)


def test_the_file_name_in_errors_is_the_one_given(tmp_path):
    path = tmp_path / "rp.yaml"
    path.write_text("")
    assert check_clients_file(path)[0].startswith(f"{path}:1: ")


# -- the Client's checks, as Authlib calls them ------------------------------------------

def test_redirect_uris_match_exactly():
    client = load(confidential()).get("portal")
    assert client.check_redirect_uri("https://portal.example/callback")
    for near in ("https://portal.example/callback/", "https://portal.example/callback?x=1",
                 "https://portal.example/Callback", "https://PORTAL.example/callback",
                 "https://portal.example:443/callback", "http://portal.example/callback",
                 "https://portal.example/callback#f", ""):
        assert not client.check_redirect_uri(near), near


def test_a_loopback_redirect_without_port_accepts_any_port_but_the_same_path():
    client = load(public()).get("mobile-app")
    assert client.check_redirect_uri("http://127.0.0.1/callback")
    assert client.check_redirect_uri("http://127.0.0.1:51004/callback")
    assert not client.check_redirect_uri("http://127.0.0.1:51004/callback/")
    assert not client.check_redirect_uri("http://127.0.0.1:51004/other")
    assert not client.check_redirect_uri("http://127.0.0.1:51004/callback?x=1")
    assert not client.check_redirect_uri("http://127.0.0.1:99999/callback")
    assert not client.check_redirect_uri("http://[::1]:51004/callback")
    assert not client.check_redirect_uri("http://localhost:51004/callback")


def test_the_ipv6_loopback_without_port_accepts_any_port():
    client = load(public().replace("http://127.0.0.1/callback", '"http://[::1]/cb"')
                  ).get("mobile-app")
    assert client.check_redirect_uri("http://[::1]:6000/cb")
    assert not client.check_redirect_uri("http://127.0.0.1:6000/cb")


def test_a_loopback_redirect_registered_with_a_port_keeps_that_port():
    client = load(confidential().replace("https://portal.example/callback",
                                         "http://127.0.0.1:5001/callback")).get("portal")
    assert client.check_redirect_uri("http://127.0.0.1:5001/callback")
    assert not client.check_redirect_uri("http://127.0.0.1:5002/callback")


def test_a_default_redirect_uri_exists_only_when_one_is_registered():
    assert load(confidential()).get("portal").get_default_redirect_uri() == \
        "https://portal.example/callback"
    assert load(public()).get("mobile-app").get_default_redirect_uri() is None


def test_the_allowed_scope_drops_what_the_client_may_not_have():
    client = load(confidential()).get("portal")
    assert client.get_allowed_scope("openid email birth identite_pivot email") == "openid email"
    assert client.get_allowed_scope(None) == ""


def test_the_registered_auth_method_serves_token_revocation_and_introspection():
    client = load(confidential(token_endpoint_auth_method="client_secret_post")).get("portal")
    for endpoint in ("token", "revocation", "introspection"):
        assert client.check_endpoint_auth_method("client_secret_post", endpoint)
        assert not client.check_endpoint_auth_method("client_secret_basic", endpoint)
        assert not client.check_endpoint_auth_method("none", endpoint)


def test_only_the_code_response_type_and_the_listed_grants_are_allowed():
    client = load(confidential()).get("portal")
    assert client.check_response_type("code")
    assert not client.check_response_type("token")
    assert client.check_grant_type("authorization_code")
    assert not client.check_grant_type("refresh_token")
    refreshing = load(confidential(grant_types="[authorization_code, refresh_token]"))
    assert refreshing.get("portal").check_grant_type("refresh_token")


# -- hot reload --------------------------------------------------------------------------

def touch_later(path: str) -> None:
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def test_a_bad_or_missing_file_at_start_refuses_to_start():
    with pytest.raises(ClientsFileError):
        RegistryHolder(write(confidential(colour="blue")), ENV)
    with pytest.raises(ClientsFileError) as raised:
        RegistryHolder("missing.yaml", ENV)
    assert raised.value.errors[0].startswith("missing.yaml: cannot read the file")


def test_reload_keeps_the_registry_while_the_file_is_missing():
    holder = RegistryHolder(write(confidential()), ENV)
    os.remove("clients.yaml")
    assert "cannot read the file" in holder.reload()[0]
    assert holder.current.get("portal") is not None
    write(confidential(client_name="Portail"))
    assert holder.reload() == []
    assert holder.current.get("portal").client_name == "Portail"


def test_reload_keeps_the_last_good_registry_and_logs_without_secrets(caplog):
    holder = RegistryHolder(write(confidential()), ENV)
    write(confidential().replace("${PORTAL_SECRET}", "hunter2-literal"))
    touch_later("clients.yaml")
    with caplog.at_level(logging.WARNING, logger="idp.oidc.clients"):
        errors = holder.reload()
    assert_error(errors, 3, "a literal secret is not allowed")
    assert holder.current.get("portal").check_client_secret(SECRET)
    assert "literal secret is not allowed" in caplog.text and "hunter2" not in caplog.text

    write(confidential(client_name="Portail"))
    touch_later("clients.yaml")
    assert holder.reload() == []
    assert holder.current.get("portal").client_name == "Portail"


def test_reload_does_not_reread_an_unchanged_file():
    holder = RegistryHolder(write(confidential()), ENV)
    first = holder.current
    assert holder.reload() == []
    assert holder.current is first


def test_the_reload_interval_is_the_policys():
    assert RegistryHolder(write(confidential()), ENV).check_interval == 1.0
    rules = Policy(clients_file_check_interval=timedelta(seconds=5))
    assert RegistryHolder(write(confidential()), ENV, rules=rules).check_interval == 5.0


def test_maybe_reload_looks_at_the_file_at_most_once_per_interval():
    holder = RegistryHolder(write(confidential()), ENV, check_interval=3600)
    write(confidential(client_name="Portail"))
    touch_later("clients.yaml")
    holder.maybe_reload()
    assert holder.current.get("portal").client_name is None
    holder.check_interval, holder._next_check = 0, 0
    holder.maybe_reload()
    assert holder.current.get("portal").client_name == "Portail"


# -- the shipped file --------------------------------------------------------------------

SHIPPED_ENV = {"IDP_PORTAL_SECRET": "p" * 32, "IDP_FRANCECONNECT_SECRET": "f" * 48}


def test_the_shipped_clients_file_is_valid_when_its_two_secrets_are_set():
    assert check_clients_file(SHIPPED, SHIPPED_ENV) == []
    errors = check_clients_file(SHIPPED, {"IDP_PORTAL_SECRET": "p" * 32})
    assert len(errors) == 1 and "IDP_FRANCECONNECT_SECRET is not set" in errors[0]


def test_the_shipped_franceconnect_client_is_registered_as_franceconnect_calls():
    registry = load_clients(SHIPPED, SHIPPED_ENV)
    fc = registry.get("franceconnect")
    assert fc.check_endpoint_auth_method("client_secret_post", "token")
    assert fc.check_client_secret("f" * 48)
    assert fc.id_token_signed_response_alg == "ES256"
    assert fc.skip_consent and fc.require_security_code and not fc.requires_pkce
    assert fc.sector_identifier == "fcp-low.sbx.dev-franceconnect.fr"
    assert fc.get_allowed_scope("openid profile email birth") == "openid profile email birth"
    assert fc.check_redirect_uri("https://fcp-low.sbx.dev-franceconnect.fr/api/v2/oidc-callback")
    assert registry.get("mobile-app").requires_pkce
    assert registry.get("portal").check_grant_type("refresh_token")
