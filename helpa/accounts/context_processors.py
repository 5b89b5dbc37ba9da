from django.http import HttpRequest


def workspace(request: HttpRequest) -> dict[str, object]:
    """Unread in-app notifications for the agent's header."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_agent:
        return {}
    from helpa.tickets.models import Notification

    return {"unread_notifications": Notification.objects.filter(user=user, read_at=None).count()}
