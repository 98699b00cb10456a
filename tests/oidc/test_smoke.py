import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlparse

import requests


def test_a_demo_person_logs_in_to_the_portal_with_the_emailed_code(server, browser, person, smtp):
    redirect_uri = "http://127.0.0.1:5001/callback"
    verifier = secrets.token_urlsafe(40)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    page = browser.get("/authorize", params={
        "client_id": "portal", "response_type": "code", "scope": "openid profile email",
        "redirect_uri": redirect_uri, "state": "s1", "nonce": "n1",
        "code_challenge": challenge, "code_challenge_method": "S256"})
    assert "J'accède à mon compte ameli" in page.text, page.text[:500]
    page = browser.submit_credentials(person.nir, person.password)
    assert "Recevoir un code de sécurité" in page.text, page.text[:2000]
    page = browser.ask_code()
    code = smtp.code_for(person.email)
    response = browser.submit_code(code)
    assert response.status_code == 303, response.text[:1000]
    response = browser.http.get(server.url + response.headers["Location"], allow_redirects=False)
    location = response.headers["Location"]
    assert location.startswith(redirect_uri), location
    query = parse_qs(urlparse(location).query)
    assert query["state"] == ["s1"] and query["iss"] == [server.url]
    token = requests.post(server.url + "/token", data={
        "grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": redirect_uri,
        "code_verifier": verifier}, auth=("portal", "demo-portal-secret-0123456789abcdef0123"))
    assert token.status_code == 200, token.text
    body = token.json()
    assert "id_token" in body and "refresh_token" in body
    info = requests.get(server.url + "/userinfo", headers={"Authorization": "Bearer " + body["access_token"]})
    assert info.json()["given_name"] == "Valérie", info.text
