"""The dashboard at /admin/ (operators only) and its scheduler pause/resume buttons."""

from flask import flash, redirect, url_for
from flask_admin import AdminIndexView, expose
from flask_admin.helpers import get_form_data, validate_form_on_submit

from app.admin.dashboard import build_dashboard
from app.admin.forms import AdminForm
from app.admin.security import OperatorAccess
from app.audit.operations import Actor
from app.jobs import operations as jobs_operations
from app.jobs.models import RUN_KIND_LABELS, RUN_STATUS_LABELS


class OperatorIndexView(OperatorAccess, AdminIndexView):
    @expose("/")
    def index(self):
        return self.render(
            "admin/dashboard.html",
            board=build_dashboard(),
            form=AdminForm(),
            run_kind_labels=RUN_KIND_LABELS,
            run_status_labels=RUN_STATUS_LABELS,
        )

    @expose("/planlegger/<job_id>/pause", methods=("POST",))
    def pause_job(self, job_id: str):
        return self._toggle(job_id, jobs_operations.pause_job, "satt på pause")

    @expose("/planlegger/<job_id>/fortsett", methods=("POST",))
    def resume_job(self, job_id: str):
        return self._toggle(job_id, jobs_operations.resume_job, "startet igjen")

    def _toggle(self, job_id: str, function, done: str):
        if not validate_form_on_submit(AdminForm(get_form_data())):
            flash("Skjemaet var utløpt eller ugyldig. Last siden på nytt.", "error")
            return redirect(url_for(".index"))
        try:
            changed = function(job_id, actor=Actor.current())  # audited by the operation
        except KeyError:
            flash(f"Planleggeren har ingen jobb {job_id}.", "error")
            return redirect(url_for(".index"))
        flash(f"Jobben {job_id} er {done}." if changed else f"Jobben {job_id} var allerede {done}.",
              "success")
        return redirect(url_for(".index"))
