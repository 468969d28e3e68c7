"""Storage for files that must never be reachable by URL (attachments, call documents, exports)."""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages


class PrivateStorage(FileSystemStorage):
    """Files outside MEDIA_ROOT and STATIC_ROOT, reachable only through views.

    The location is read from settings at use time, so deployments and tests
    can move it without a migration.
    """

    @property
    def base_location(self):
        return settings.PRIVATE_MEDIA_ROOT

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    def url(self, name):
        raise NotImplementedError("Private files have no public URL; serve them through a view.")


def private_storage():
    """The configured private storage (settings.STORAGES["private"]: a folder, or an S3 bucket).
    Model fields name this callable, so switching backends needs no migration."""
    return storages["private"]


def is_local(storage) -> bool:
    """True for a folder on this host (or a mounted share): files have a path, nginx can send them."""
    try:
        storage.path("")
    except NotImplementedError:
        return False
    return True
