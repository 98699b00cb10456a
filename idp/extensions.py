"""Flask extensions, created here and bound to the app in ``create_app``."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase

from .transport import OriginCheckedCSRF


class Base(DeclarativeBase):
    pass


# A request is short and reads what it needs again where it matters (``refresh`` after a
# compare-and-set): objects are not expired at each commit, which saved ~20 % of the
# statements of a login (each commit re-read every object touched so far).
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
mail = Mail()
csrf = OriginCheckedCSRF()   # Flask-WTF's check, and the Origin header (issue 10)
limiter = Limiter(key_func=get_remote_address, default_limits=[])
