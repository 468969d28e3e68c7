"""Signals other apps listen to, so proposals need not import them."""

from django.dispatch import Signal

# Sent after the submission committed; receivers get ``proposal``.
proposal_submitted = Signal()
