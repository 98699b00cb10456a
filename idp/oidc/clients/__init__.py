"""The relying-party registry: ``clients.yaml``, validated with line numbers (``file``), kept
hot in memory (``registry``). Callers import from here."""

from idp.oidc.clients.file import ClientsFileError, check_clients_file, read_clients
from idp.oidc.clients.registry import Client, ClientRegistry, RegistryHolder, load_clients

__all__ = ["Client", "ClientRegistry", "ClientsFileError", "RegistryHolder",
           "check_clients_file", "load_clients", "read_clients"]
