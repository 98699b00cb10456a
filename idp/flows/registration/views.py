"""Thin views of account creation (seeds 002, 003) over ``idp.domain.registration``; the
activation's steps are ``machine.py``'s.

"Créer un compte" → the same answer whatever the registry says; "Je n'ai pas de code ou j'ai
perdu mon code" → NIR and provisional code (or Carte Vitale and IBAN) → password, terms,
address → validation link.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from idp import messages
from idp.domain import addresses, links, registration
from idp.errors import IdpError
from idp.extensions import limiter
from idp.flows.common import checklist, field_errors
from idp.flows.registration import machine
from idp.policy import policy

bp = Blueprint("registration", __name__)
_FORMS = {"registration.create": "flows/register.html",
          "registration.activate": "flows/activate.html",
          "registration.finish": "flows/activate_finish.html"}


def _posts_limit() -> str:
    return f"{policy().registration_posts_per_minute} per minute"


@bp.errorhandler(IdpError)
def _refused(error: IdpError):
    """A refusal of the domain: the same form again, under its sentence."""
    errors, banner = field_errors(error)
    extra = {"checklist": checklist()} if request.endpoint == "registration.finish" else {}
    return render_template(_FORMS[request.endpoint], form=request.form, errors=errors,
                           banner=banner, notice=None, **extra), 400


def _link(endpoint: str):
    return lambda token: links.external(endpoint, token=token)


def _to_login():
    return url_for("login.show"), messages.text("link_to_login")


@bp.route("/creer-un-compte", methods=["GET", "POST"])
@limiter.limit(_posts_limit, methods=["POST"])
def create():
    form = request.form
    if request.method == "POST":
        registration.request_code(
            family_name=form.get("family_name", ""), given_name=form.get("given_name", ""),
            nir=form.get("nir", ""), birthdate=form.get("birthdate", ""),
            postal_code=form.get("postal_code", ""),
            link=links.external("registration.activate"))
        return render_template(
            "flows/notice.html", title=messages.text("title_register"),
            notice=messages.text("registration_requested"),
            links=[(url_for("registration.activate"), messages.text("link_no_code")),
                   _to_login()])
    return render_template("flows/register.html", form=form, errors={}, banner=None,
                           notice=None)


@bp.route("/activer-mon-compte", methods=["GET", "POST"])
@limiter.limit(_posts_limit, methods=["POST"])
def activate():
    """"Je n'ai pas de code ou j'ai perdu mon code": the proof."""
    form = request.form
    if request.method == "POST":
        machine.prove(machine.current_or_new(), form.get("nir", ""), code=form.get("code", ""),
                      vitale_serial=form.get("vitale_serial", ""), iban=form.get("iban", ""))
        return redirect(url_for("registration.finish"), 303)
    return render_template("flows/activate.html", form=form, errors={}, banner=None)


@bp.route("/activer-mon-compte/finaliser", methods=["GET", "POST"])
def finish():
    flow = machine.current()
    if not machine.at_details(flow):
        return render_template("flows/notice.html", title=messages.text("title_activate"),
                               banner=messages.text("activation_expired"),
                               links=[(url_for("registration.activate"),
                                       messages.text("link_restart"))]), 400
    form = request.form
    if request.method == "POST":
        account = machine.finish(
            flow, password=form.get("new_password", ""),
            confirmation=form.get("confirmation", ""), terms=bool(form.get("terms")),
            email=form.get("email", ""), mobile=form.get("mobile", ""),
            contacts=(bool(form.get("contact_email")), bool(form.get("contact_mobile")),
                      bool(form.get("contact_sms"))),
            make_link=_link("registration.validate_email"))
        return render_template(
            "flows/notice.html", title=messages.text("title_account_created"),
            notice=messages.text("account_created"), detail=account.email,
            links=[_to_login()])
    return render_template("flows/activate_finish.html", form=form, errors={}, banner=None,
                           checklist=checklist())


@bp.get("/valider-mon-adresse/<token>")
def validate_email(token):
    account = addresses.validate_email(token)
    if account is None:
        return render_template("flows/notice.html",
                               title=messages.text("title_email_validation"),
                               banner=messages.text("link_invalid"), links=[_to_login()]), 400
    return render_template("flows/notice.html", title=messages.text("title_email_validation"),
                           notice=messages.text("email_validated"), links=[_to_login()])
