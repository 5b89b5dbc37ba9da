"""The worker's crm jobs: large imports run here, with their progress on the import page."""

from huey.contrib.djhuey import db_task


@db_task()
def run_import_job(job_id: int) -> None:
    from .importing import run_job

    run_job(job_id)
