"""The dashboard's figures and the scheduler's pause/resume."""

import re
from datetime import timedelta

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.db_types import utcnow
from app.extensions import db
from app.integrations.models import Client, Integration, IntegrationStatus
from app.jobs.models import RunKind, RunStatus, SchedulerJob
from tests.factories import RunFactory


def figure(page: str, name: str) -> str:
    return re.search(rf'data-figure="{name}">([^<]*)<', page).group(1).strip()


def test_figures(app, client, world, operator):
    with app.app_context():
        integration = db.session.get(Integration, world.integration_id)
        integration.status = IntegrationStatus.REAUTHORIZATION_REQUIRED
        integration.status_message = "Refresh-tokenet er utløpt."
        old = utcnow() - timedelta(days=3)
        third = db.session.get(Client, world.client_ids[2])
        RunFactory(kind=RunKind.FULL_SYNC, client=third, status=RunStatus.FAILED,
                   created_at=old, finished_at=old, error_message="Gammel feil")
        RunFactory(kind=RunKind.TEST_DATA, client=third, status=RunStatus.RUNNING,
                   active_key="t:1", started_at=utcnow())
        db.session.commit()
    page = client.get("/admin/").text
    assert figure(page, "integrations-reauthorization_required") == "1"
    assert figure(page, "clients-active") == "3" and figure(page, "clients-inactive") == "3"
    assert figure(page, "runs-queued") == "1" and figure(page, "runs-running") == "1"
    assert figure(page, "runs-failed-24h") == "1"  # the 3-day-old failure is not counted
    assert "Synkronisering #" in page and "for 10 min siden" in page  # oldest queued run
    assert "Refresh-tokenet er utløpt." in page  # needs reauthorization
    throttling = re.search(r'<table class="table table-sm mb-0" id="throttling">(.*?)</table>', page, re.S).group(1)
    assert "Firma 0 AS" in throttling and "Regnskapsbyrå Demo AS" in throttling


def test_pause_and_resume_a_scheduler_job(app, client, admin_csrf):
    page = client.get("/admin/").text
    job_id = re.search(r'action="/admin/planlegger/([^/]+)/pause"', page).group(1)
    assert client.post(f"/admin/planlegger/{job_id}/pause").status_code == 400  # no CSRF token
    response = client.post(f"/admin/planlegger/{job_id}/pause", data={"csrf_token": admin_csrf},
                           follow_redirects=True)
    assert f"Jobben {job_id} er satt på pause." in response.text
    assert "På pause" in response.text and f'/admin/planlegger/{job_id}/fortsett' in response.text
    with app.app_context():
        assert db.session.get(SchedulerJob, job_id).paused
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "scheduler_job_paused"))
        assert event.actor == "operator@sticos.test"
    response = client.post(f"/admin/planlegger/{job_id}/fortsett", data={"csrf_token": admin_csrf},
                           follow_redirects=True)
    assert f"Jobben {job_id} er startet igjen." in response.text
    with app.app_context():
        assert not db.session.get(SchedulerJob, job_id).paused
    response = client.post("/admin/planlegger/finnes-ikke/pause", data={"csrf_token": admin_csrf},
                           follow_redirects=True)
    assert "Planleggeren har ingen jobb finnes-ikke." in response.text
