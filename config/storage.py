"""Storage for files that must never be reachable by URL (attachments, exports)."""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage


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


_private_storage = PrivateStorage()


def private_storage():
    return _private_storage
