"""The files that bind the ameli app to the provider's domain (issue 14), made from the one
setting ``NATIVE_APPS`` (``idp.config.native_apps``), never written by hand:

* ``/.well-known/apple-app-site-association`` (no extension, ``application/json``): the
  app's universal links (``applinks``, its claimed https redirects under ``apple_paths``) and
  its shared credentials (``webcredentials``: the passkeys of this RP ID) for each app ID;
* ``/.well-known/assetlinks.json`` (Digital Asset Links): the Android package and its
  signing-certificate fingerprints may open the provider's links
  (``delegate_permission/common.handle_all_urls``) and use its credentials, passkeys included
  (``delegate_permission/common.get_login_creds``).

Each is served only when its half of the setting is there (404 otherwise). Public, cached as
long as the discovery document (``Policy.discovery_max_age``): they change with a release.
"""

from __future__ import annotations

import json

from flask import Blueprint, abort, current_app

from idp.policy import policy

bp = Blueprint("native", __name__)


def apple_app_site_association(apps: dict) -> dict | None:
    ids = apps["apple_app_ids"]
    if not ids:
        return None
    return {"applinks": {"details": [{"appIDs": ids,
                                      "components": [{"/": path} for path in apps["apple_paths"]]}]},
            "webcredentials": {"apps": ids}}


def asset_links(apps: dict) -> list | None:
    if not apps["android_package"]:
        return None
    return [{"relation": ["delegate_permission/common.handle_all_urls",
                          "delegate_permission/common.get_login_creds"],
             "target": {"namespace": "android_app", "package_name": apps["android_package"],
                        "sha256_cert_fingerprints": apps["android_cert_fingerprints"]}}]


def _serve(build):
    apps = current_app.config.get("NATIVE_APPS")
    document = build(apps) if apps else None
    if document is None:
        abort(404)
    response = current_app.response_class(json.dumps(document, separators=(",", ":")),
                                          mimetype="application/json")
    response.headers["Cache-Control"] = \
        f"public, max-age={int(policy().discovery_max_age.total_seconds())}"
    return response


@bp.get("/.well-known/apple-app-site-association")
def apple():
    return _serve(apple_app_site_association)


@bp.get("/.well-known/assetlinks.json")
def android():
    return _serve(asset_links)
