from celery import shared_task

from calls.services import close_overdue


@shared_task(name="calls.close_overdue")
def close_overdue_task() -> int:
    return close_overdue()
