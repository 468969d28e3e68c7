import pytest

from audit.services import record
from config.celery import ping

pytestmark = pytest.mark.worker


def test_a_task_round_trips_through_redis_to_a_real_worker(celery_worker_queue):
    import os

    result = ping.apply_async(args=["你好"], queue=celery_worker_queue)
    value = result.get(timeout=30)
    assert value["payload"] == "你好"
    assert value["pid"] != os.getpid()  # it ran in the worker process, not eagerly here


@pytest.mark.django_db(transaction=True)
def test_worker_verifies_the_audit_chain_in_the_test_database(celery_worker_queue, administrator):
    from audit.tasks import verify_chain_task

    for i in range(3):
        record(actor=administrator, action="test.change", object_type="tests.thing", object_id=i)
    result = verify_chain_task.apply_async(queue=celery_worker_queue).get(timeout=30)
    assert result["ok"] and result["checked"] >= 3
