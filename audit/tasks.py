import logging

from celery import shared_task

from audit.services import verify_chain

logger = logging.getLogger("jiebang.audit")


@shared_task(name="audit.verify_chain")
def verify_chain_task() -> dict:
    """Periodic check (beat); a broken chain is logged as an error for operators."""
    report = verify_chain()
    if report.ok:
        logger.info("Audit chain intact: %d rows, head %s", report.checked, report.last_hash)
    else:
        logger.error("Audit chain BROKEN: %s", report.problem)
    return {"ok": report.ok, "checked": report.checked, "problem": report.problem, "head": report.last_hash}
