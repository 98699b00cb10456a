"""The front desk's and operators' commands: registry import, letters export, provisional
codes, reset. Each prints what it did; bad input → one line, nothing written."""

from __future__ import annotations

import re
from pathlib import Path

from idp.domain import registry
from tests.helpers.accounts import add_person

HEADER = ",".join(registry.HEADER)
GOOD = (HEADER + "\n"
        "1860275056042,BERNARD,Louis,1986-02-11,male,75056,99100,75011,CPAM de Paris,"
        "louis@example.fr,06 12 34 56 78,123456789,FR76 3000 6000 0112 3456 7890 189,attached\n"
        "2910569123078,PETIT,Chloé,1991-05-20,female,69123,99100,69003,,,,,,pending\n")


def run(app, *args):
    return app.test_cli_runner().invoke(args=["idp", *args])


def people(app):
    with app.app_context():
        return {p.nir: p for p in registry.all_people()}


def test_a_registry_file_is_imported_and_imported_again_as_an_update(app, tmp_path):
    path = tmp_path / "rfi.csv"
    path.write_text(GOOD, encoding="utf-8")
    result = run(app, "registry", "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert "registry: 2 person(s) added, 0 updated" in result.stdout
    found = people(app)
    assert found["1860275056042"].iban == "FR7630006000011234567890189"
    assert found["1860275056042"].mobile == "0612345678"
    assert found["2910569123078"].email is None and found["2910569123078"].status == "pending"
    assert "updated" in run(app, "registry", "import", str(path)).stdout


def test_a_bad_registry_file_names_each_error_with_its_line_and_imports_nothing(app, tmp_path):
    path = tmp_path / "rfi.csv"
    path.write_text(GOOD + "123,DURAND,Paul,1980-13,male,75056,99100,750,,pas-un-mail,,,,x\n"
                    "1860275056042,BERNARD,Louis,1986-02-11,male,75056,99100,75011,,,,,,\n",
                    encoding="utf-8")
    result = run(app, "registry", "import", str(path))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert any("line 4: nir" in line for line in lines)
    assert any("line 4: birthdate" in line for line in lines)
    assert any("line 4: postal_code" in line for line in lines)
    assert any("line 4: email" in line for line in lines)
    assert any("line 4: status" in line for line in lines)
    assert any("line 5: nir: already given on line 2" in line for line in lines)
    assert lines[-1].startswith("error:") and "nothing imported" in lines[-1]
    assert people(app) == {}
    path.write_text("nir,name\n1,2\n")
    result = run(app, "registry", "import", str(path))
    assert result.exit_code == 1 and "line 1: expected the header" in result.stderr


def test_the_front_desk_gives_a_code_at_the_counter_by_sms_by_mail_or_by_post(
        server, app, smtp, tmp_path):
    person = add_person(app)
    result = run(app, "user", "provisional-code", person["nir"], "--channel", "counter",
                 "--digits", "4")
    assert result.exit_code == 0, result.stderr
    # issue 11.6: the 4-digit form is handed over in person and short-lived
    assert re.search(r"provisional code \(hand it over, valid 1 heure\): \d{4}$", result.stdout.strip())
    result = run(app, "user", "provisional-code", person["nir"], "--channel", "counter")
    assert re.search(r"provisional code \(hand it over, valid 30 jours\): \d{8}$", result.stdout.strip())
    result = run(app, "user", "provisional-code", person["nir"], "--channel", "sms")
    assert result.stdout.strip() == "provisional code sent by sms"
    sms = list(Path(app.config["SMS_OUTBOX"]).glob("*.txt"))
    assert len(sms) == 1
    body = sms[0].read_text()
    assert body.startswith("To: 0612345678") and re.search(r"code provisoire est \d{8}\.", body)
    result = run(app, "user", "provisional-code", person["nir"], "--channel", "email")
    assert result.stdout.strip() == "provisional code sent by email"
    assert re.fullmatch(r"\d{8}", smtp.code_for(person["email"], digits=8))
    result = run(app, "user", "provisional-code", person["nir"], "--channel", "post")
    assert "letter queued" in result.stdout


def test_bad_front_desk_input_is_one_line_and_writes_nothing(app, person, tmp_path):
    add_person(app, nir="2910569123078", email="", mobile="")
    for args, message in (
            (("provisional-code", "12345"), "invalid NIR"),
            (("provisional-code", "1991299123456"), "not in the registry"),
            (("provisional-code", "2910569123078", "--channel", "sms"), "no mobile number"),
            (("provisional-code", "2910569123078", "--channel", "email"), "no e-mail address"),
            (("reset", "1991299123456"), "no account for this NIR")):
        result = run(app, "user", *args)
        assert result.exit_code == 1 and len(result.stderr.splitlines()) == 1
        assert message in result.stderr
    add_person(app, nir=person.nir, family_name="MARTIN", given_name="Valérie",
               birthdate="1969-02-15")
    result = run(app, "user", "provisional-code", person.nir)
    assert result.exit_code == 1 and "an account already exists" in result.stderr
    assert not Path(app.config["SMS_OUTBOX"]).exists()
    from idp.extensions import db
    from idp.models import Letter, OneTimeCode
    with app.app_context():
        assert db.session.query(OneTimeCode).count() == 0
        assert db.session.query(Letter).count() == 0


def test_a_reset_deletes_the_account_so_that_the_person_creates_it_again(
        server, browser, app, person, smtp):
    add_person(app, nir=person.nir, family_name="MARTIN", given_name="Valérie",
               birthdate="1969-02-15", email="", mobile="0698765432")
    result = run(app, "user", "reset", person.nir)
    assert result.exit_code == 0 and "deleted" in result.stdout
    from idp.domain import accounts
    with app.app_context():
        assert accounts.by_nir(person.nir) is None
    result = run(app, "user", "provisional-code", person.nir, "--channel", "sms")
    assert result.exit_code == 0, result.stderr
    code = re.search(r"est (\d{8})\.", next(Path(app.config["SMS_OUTBOX"]).glob("*.txt")).read_text()).group(1)
    browser.get("/activer-mon-compte")
    page = browser.post_form("/activer-mon-compte", {"nir": person.nir, "code": code})
    assert "Personnaliser mon compte ameli" in page.text


def test_the_demo_loads_registry_people_for_make_run(app):
    from idp.demo import load as load_demo
    with app.app_context():
        lines = load_demo()
    assert any(line.startswith("registry: 9 demo people") for line in lines)
    found = people(app)
    assert found["1860275056042"].vitale_serial == "123456789"
    assert found["2910569123078"].email is None
    with app.app_context():
        assert not any("registry" in line for line in load_demo())


def test_the_demo_people_carry_what_mes_informations_shows(app):
    """issue 13.3: Valérie MARTIN has every detail, Jean Pierre DUPONT none of the optional
    ones; a demo person loaded before the registry held details gets them at the next load."""
    from idp.demo import load as load_demo
    from idp.extensions import db
    with app.app_context():
        load_demo()
        valerie = registry.by_nir("2690299341732")
        assert valerie.doctor and valerie.complementary and valerie.ceam_until
        assert valerie.iban and valerie.landline and valerie.address and valerie.city
        jean = registry.by_nir("1840175056123")
        assert jean.doctor is None and jean.complementary is None and jean.iban is None
        for name in (*registry.DETAILS, "iban"):
            setattr(valerie, name, None)
        db.session.commit()
        load_demo()
        assert registry.by_nir("2690299341732").doctor == "Dr Sophie LEFEBVRE"
        assert registry.by_nir("2690299341732").iban.endswith("0143")


def test_a_four_digit_code_is_only_for_the_counter(server, app, smtp):
    """issue 11.6: by SMS, mail or post a 4-digit code is refused, and nothing is sent."""
    person = add_person(app)
    for channel in ("sms", "email", "post"):
        result = run(app, "user", "provisional-code", person["nir"], "--channel", channel,
                     "--digits", "4")
        assert result.exit_code != 0
        assert "4-digit codes are only handed over at the counter" in result.stderr
    assert smtp.messages == [] and not list(Path(app.config["SMS_OUTBOX"]).glob("*.txt"))
    assert "letters exported: 0" in run(app, "letters", "export").output
