"""The app-association files (issue 14): made from IDP_NATIVE_APPS, served as JSON only
when set, and the Android app's passkey origin derived from the same fingerprints."""

from __future__ import annotations

import base64
import hashlib

import pytest
import requests

from tests.helpers.authenticator import Authenticator

APPLE_ID = "ABCDE12345.fr.ameli.app"
# keytool -list -v prints it so: upper case, colons. The second one in lower case, without.
FINGERPRINT = ":".join(f"{b:02X}" for b in hashlib.sha256(b"ameli release key").digest())
OTHER = hashlib.sha256(b"ameli upload key").hexdigest()
APPS = {"apple_app_ids": [APPLE_ID], "android_package": "fr.ameli.app",
        "android_cert_fingerprints": [FINGERPRINT, OTHER]}
AASA = "/.well-known/apple-app-site-association"
ASSETLINKS = "/.well-known/assetlinks.json"


def apk_key_hash(fingerprint: str) -> str:
    raw = bytes.fromhex(fingerprint.replace(":", ""))
    return "android:apk-key-hash:" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.config(NATIVE_APPS=APPS)
def test_both_files_are_made_from_the_setting(server):
    apple = requests.get(server.url + AASA)
    assert apple.status_code == 200 and apple.headers["Content-Type"] == "application/json"
    assert apple.json() == {
        "applinks": {"details": [{"appIDs": [APPLE_ID], "components": [{"/": "/app/*"}]}]},
        "webcredentials": {"apps": [APPLE_ID]}}
    android = requests.get(server.url + ASSETLINKS)
    assert android.status_code == 200 and android.headers["Content-Type"] == "application/json"
    assert android.json() == [{
        "relation": ["delegate_permission/common.handle_all_urls",
                     "delegate_permission/common.get_login_creds"],
        "target": {"namespace": "android_app", "package_name": "fr.ameli.app",
                   "sha256_cert_fingerprints": [
                       FINGERPRINT, ":".join(OTHER[i:i + 2] for i in range(0, 64, 2)).upper()]}}]
    assert "public" in android.headers["Cache-Control"]


def test_without_the_setting_neither_file_is_served(server):
    assert requests.get(server.url + AASA).status_code == 404
    assert requests.get(server.url + ASSETLINKS).status_code == 404


@pytest.mark.config(NATIVE_APPS={"apple_app_ids": [APPLE_ID]})
def test_an_ios_only_setting_serves_only_apples_file(server):
    assert requests.get(server.url + AASA).status_code == 200
    assert requests.get(server.url + ASSETLINKS).status_code == 404


@pytest.mark.config(NATIVE_APPS=APPS)
def test_the_android_apps_passkey_origin_comes_from_the_fingerprints(app, clock, person):
    """An assertion made in the Android app (its origin the apk-key-hash) logs in; the web
    origin still does; an apk-key-hash of another certificate does not."""
    from idp import errors
    from idp.domain import accounts, passkeys
    with app.app_context():
        origins = app.config["PASSKEY_ORIGINS"]
        assert apk_key_hash(FINGERPRINT) in origins and apk_key_hash(OTHER) in origins
        assert origins[0].startswith("http://localhost:")
        account = accounts.by_nir(person.nir)
        phone = Authenticator(origin=apk_key_hash(FINGERPRINT), rp_id=app.config["PASSKEY_RP_ID"])
        options = passkeys.registration_options(account)
        passkeys.verify_registration(account.id, phone.register(options.public_key, origin=origins[0]),
                                     label="Pixel", challenge_id=options.challenge_id)
        options = passkeys.authentication_options()
        login = passkeys.verify_authentication(phone.assertion(options.public_key),
                                               challenge_id=options.challenge_id)
        assert login.account_id == account.id
        forged = apk_key_hash(hashlib.sha256(b"someone else's key").hexdigest())
        options = passkeys.authentication_options()
        with pytest.raises(errors.PasskeyRefused):
            passkeys.verify_authentication(phone.assertion(options.public_key, origin=forged),
                                           challenge_id=options.challenge_id)


@pytest.mark.parametrize("apps", [
    {"apple_app_ids": ["fr.ameli.app"]},                              # no team ID
    {"android_package": "fr.ameli.app", "android_cert_fingerprints": ["AB:CD"]},
    {"android_package": "fr.ameli.app"},                              # no fingerprint
    {"android_cert_fingerprints": [FINGERPRINT]},                     # no package
    {"apple_app_ids": [APPLE_ID], "apple_paths": ["app/*"]},
    {"ios": [APPLE_ID]},
])
def test_a_wrong_native_apps_setting_stops_the_start_named(app_config, apps):
    from idp import create_app
    with pytest.raises(SystemExit, match="IDP_NATIVE_APPS"):
        create_app({**app_config, "NATIVE_APPS": apps})
