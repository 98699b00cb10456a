"""The clients file's FranceConnect extensions: branding, access-token lifetime, single use."""

from pathlib import Path

import pytest

from idp.oidc.clients import check_clients_file, load_clients

SHIPPED = Path(__file__).resolve().parents[3] / "clients.yaml"

ENTRY = """clients:
  - client_id: franceconnect
    client_secret_hash: "sha256:{h}"
    token_endpoint_auth_method: client_secret_post
    redirect_uris: [https://fc.example/api/v2/oidc-callback]
    login_branding: {branding}
    access_token_lifetime: {lifetime}
    single_use_access_token: true
""".replace("{h}", "a" * 64)


def test_the_franceconnect_extensions_are_read_into_the_client(tmp_path):
    path = tmp_path / "clients.yaml"
    path.write_text(ENTRY.format(branding="franceconnect", lifetime=60))
    client = load_clients(path, {}).get("franceconnect")
    assert client.franceconnect_branding and client.access_token_lifetime == 60
    assert client.single_use_access_token
    assert "login_branding" not in client.client_metadata


def test_an_unknown_branding_and_a_zero_lifetime_are_named_with_their_lines(tmp_path):
    path = tmp_path / "clients.yaml"
    path.write_text(ENTRY.format(branding="franceconect", lifetime=0))
    errors = check_clients_file(path, {})
    assert any(e.endswith(":6: client 'franceconnect': login_branding 'franceconect' is not "
                          "one of franceconnect") for e in errors), errors
    assert any(":7: client 'franceconnect': access_token_lifetime" in e for e in errors), errors


def test_id_token_lifetime_is_read_into_the_client_and_defaults_to_the_policy(tmp_path):
    """issue 10.3: ``id_token_lifetime`` (seconds) in the clients file; absent, None (the
    policy's ``id_token_ttl`` applies)."""
    path = tmp_path / "clients.yaml"
    path.write_text(ENTRY.format(branding="franceconnect", lifetime=60)
                    + "    id_token_lifetime: 60\n")
    assert load_clients(path, {}).get("franceconnect").id_token_lifetime == 60
    assert "id_token_lifetime" not in load_clients(path, {}).get("franceconnect").client_metadata
    path.write_text(ENTRY.format(branding="franceconnect", lifetime=60))
    assert load_clients(path, {}).get("franceconnect").id_token_lifetime is None


@pytest.mark.parametrize("value", ["0", "3601", "sixty", "true"])
def test_an_id_token_lifetime_out_of_bounds_is_named_with_its_line(tmp_path, value):
    """issue 10.3: validated and bounded (1 to 3600 seconds), the error on its line."""
    path = tmp_path / "clients.yaml"
    path.write_text(ENTRY.format(branding="franceconnect", lifetime=60)
                    + f"    id_token_lifetime: {value}\n")
    errors = check_clients_file(path, {})
    assert any(":9: client 'franceconnect': id_token_lifetime" in e for e in errors), errors


def test_the_shipped_franceconnect_entry_asks_60_second_id_tokens():
    """issue 10.3: FranceConnect's checklist expects exp - iat <= 300 s; its own tokens live
    60 s, so the shipped entry says 60."""
    env = {"IDP_PORTAL_SECRET": "p" * 40, "IDP_FRANCECONNECT_SECRET": "f" * 40}
    assert load_clients(SHIPPED, env).get("franceconnect").id_token_lifetime == 60
