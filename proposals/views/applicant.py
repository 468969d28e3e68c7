"""Scaffold: replaced by the real views in this session."""

from django.http import Http404


def _missing(*args, **kwargs):
    raise Http404


my_proposals = start = detail = edit = confirm = submit = withdraw = _missing
