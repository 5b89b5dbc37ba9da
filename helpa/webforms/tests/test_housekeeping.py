from datetime import timedelta

import pytest
from django.utils import timezone

from helpa.webforms.models import BlockedSubmission, Reason, Submission
from helpa.webforms.tasks import forget_old_submissions

pytestmark = pytest.mark.django_db


def test_old_submissions_and_refusals_are_forgotten(contact_form):
    now = timezone.now()
    keep = Submission.objects.create(form=contact_form, nonce="a", ip="203.0.113.7")
    Submission.objects.create(
        form=contact_form, nonce="b", ip="203.0.113.7", created_at=now - timedelta(days=3)
    )
    recent = BlockedSubmission.objects.create(
        form=contact_form, reason=Reason.HONEYPOT, created_at=now - timedelta(days=29)
    )
    BlockedSubmission.objects.create(
        form=contact_form, reason=Reason.HONEYPOT, created_at=now - timedelta(days=31)
    )
    assert forget_old_submissions(now) == 2
    assert list(Submission.objects.all()) == [keep]
    assert list(BlockedSubmission.objects.all()) == [recent]
