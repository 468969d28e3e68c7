import rules
from django.core.exceptions import PermissionDenied
from django.http import Http404

from calls.models import Call
from calls.services import close_if_due
from config.prepared import PreparedObject

# Every page of a call starts here: its SQL compiled once (config.prepared), not on each request.
CALL_BY_CODE = PreparedObject(
    lambda code: Call.objects.filter(code=code), model="calls.Call", joins=("programme", "issuer"), text=(0,)
)


def get_call_for_user(user, code: str, *, write: bool = False) -> Call:
    """The call if this user may see it (404 otherwise); 403 if it may not edit it."""
    call = CALL_BY_CODE.get(code)
    if call is None or not rules.has_perm("calls.view_call", user, call):
        raise Http404
    call = close_if_due(call)
    if write and not rules.has_perm("calls.change_call", user, call):
        raise PermissionDenied
    return call


def get_document_for_user(user, code: str, pk, *, write: bool = False):
    """A document of the call, with the call's own check (get_call_for_user): 404 unless the call
    holds a document with that id."""
    call = get_call_for_user(user, code, write=write)
    document = call.documents.filter(pk=pk).first()  # document.call is this call: no query
    if document is None:
        raise Http404
    return document
