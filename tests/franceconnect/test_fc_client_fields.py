"""The clients file's FranceConnect extensions: branding, access-token lifetime, single use."""

from idp.oidc.clients import check_clients_file, load_clients

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
