"""Thin views of account creation (seeds 002, 003) over ``idp.registration``.

"Créer un compte" → the same answer whatever the registry says; "Je n'ai pas de code ou j'ai
perdu mon code" → NIR and provisional code (or Carte Vitale and IBAN) → password, terms,
address → validation link.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for

from idp import messages
from idp.domain import addresses, links, registration
from idp.errors import IdpError
from idp.extensions import limiter
from idp.flows.common import checklist, field_errors

bp = Blueprint("registration", __name__)
ACTIVATION_KEY = "activation"


def _link(endpoint: str):
    return lambda token: links.external(endpoint, token=token)


@bp.route("/creer-un-compte", methods=["GET", "POST"])
@limiter.limit("60 per minute", methods=["POST"])
def create():
    form, errors, banner, notice = request.form, {}, None, None
    if request.method == "POST":
        try:
            registration.request_code(
                family_name=form.get("family_name", ""), given_name=form.get("given_name", ""),
                nir=form.get("nir", ""), birthdate=form.get("birthdate", ""),
                postal_code=form.get("postal_code", ""),
                link=links.external("registration.activate"))
        except IdpError as error:
            errors, banner = field_errors(error)
        else:
            return render_template(
                "flows/notice.html", title="Créer un compte",
                notice=messages.text("registration_requested"),
                links=[(url_for("registration.activate"),
                        "Je n'ai pas de code ou j'ai perdu mon code"),
                       (url_for("login.show"), "J'accède à mon compte ameli")])
    return render_template("flows/register.html", form=form, errors=errors, banner=banner,
                           notice=notice), 400 if errors or banner else 200


@bp.route("/activer-mon-compte", methods=["GET", "POST"])
@limiter.limit("60 per minute", methods=["POST"])
def activate():
    """"Je n'ai pas de code ou j'ai perdu mon code": the proof."""
    form, errors, banner = request.form, {}, None
    if request.method == "POST":
        try:
            session[ACTIVATION_KEY] = registration.start_activation(
                form.get("nir", ""), code=form.get("code", ""),
                vitale_serial=form.get("vitale_serial", ""), iban=form.get("iban", ""))
        except IdpError as error:
            errors, banner = field_errors(error)
        else:
            return redirect(url_for("registration.finish"), 303)
    return render_template("flows/activate.html", form=form, errors=errors,
                           banner=banner), 400 if errors or banner else 200


@bp.route("/activer-mon-compte/finaliser", methods=["GET", "POST"])
def finish():
    record = registration.activation(session.get(ACTIVATION_KEY))
    if record is None:
        return render_template("flows/notice.html", title="Activer mon compte ameli",
                               banner=messages.text("activation_expired"),
                               links=[(url_for("registration.activate"), "Recommencer")]), 400
    form, errors, banner = request.form, {}, None
    if request.method == "POST":
        try:
            account = registration.activate(
                record.id, password=form.get("new_password", ""),
                confirmation=form.get("confirmation", ""), terms=bool(form.get("terms")),
                email=form.get("email", ""), mobile=form.get("mobile", ""),
                contacts=(bool(form.get("contact_email")), bool(form.get("contact_mobile")),
                          bool(form.get("contact_sms"))),
                make_link=_link("registration.validate_email"))
        except IdpError as error:
            errors, banner = field_errors(error)
        else:
            session.pop(ACTIVATION_KEY, None)
            return render_template(
                "flows/notice.html", title="Votre compte ameli est créé",
                notice=messages.text("account_created"), detail=account.email,
                links=[(url_for("login.show"), "J'accède à mon compte ameli")])
    return render_template("flows/activate_finish.html", form=form, errors=errors, banner=banner,
                           checklist=checklist()), 400 if errors or banner else 200


@bp.get("/valider-mon-adresse/<token>")
def validate_email(token):
    account = addresses.validate_email(token)
    if account is None:
        return render_template("flows/notice.html", title="Validation de votre adresse mail",
                               banner=messages.text("link_invalid"),
                               links=[(url_for("login.show"), "J'accède à mon compte ameli")]), 400
    return render_template("flows/notice.html", title="Validation de votre adresse mail",
                           notice=messages.text("email_validated"),
                           links=[(url_for("login.show"), "J'accède à mon compte ameli")])
