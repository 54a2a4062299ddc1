"""The Celery app and its one task: a slow job whose result lands in PostgreSQL."""
import os
import socket
import time

import psycopg
from celery import Celery
from celery.utils.log import get_task_logger

DATABASE_URL = os.environ["DATABASE_URL"]

app = Celery("jobs", broker=os.environ["BROKER_URL"])
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    # One job at a time per worker process, and no stock of prefetched ones: jobs spread
    # over the three workers, and a draining worker holds nothing it has not started.
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
)
log = get_task_logger(__name__)


@app.task(bind=True)
def square(self, n, seconds=3.0):
    """Take `seconds` (a stand-in for real work), then store n² in PostgreSQL."""
    log.info("squaring %s, takes %ss", n, seconds)
    time.sleep(seconds)
    result = n * n
    with psycopg.connect(DATABASE_URL) as db:
        db.execute(
            "INSERT INTO results (job_id, n, result, worker) VALUES (%s, %s, %s, %s)",
            (self.request.id, n, result, self.request.hostname or socket.gethostname()),
        )
    log.info("%s² = %s, stored", n, result)
    return result
