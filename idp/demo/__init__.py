"""The demo: its people and accounts (``idp demo``) and the demo account portal, a real
relying party (``python -m idp.demo.portal``). Nothing in the provider imports it."""


def load() -> list[str]:
    """Load the demo accounts, then the demo people of the registry (safe to run twice)."""
    from idp.demo import accounts, people
    lines = accounts.load_demo() + people.load_demo_people()
    return lines or ["demo accounts already loaded"]
