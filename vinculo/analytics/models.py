"""What the analytics app keeps in the operational database: one row per model run.

Per-customer results go back to the customer (``Customer.scores[<model>]``, through
``customers.services.write_scores``) so segments, call lists, the portal and the 360° page can
use them; the run row keeps the version, the date, the parameters and the quality metrics that
tell whether a run can be trusted."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ModelRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    model = models.CharField(_("model"), max_length=50, db_index=True)  # "rfm", "clv", "churn"...
    version = models.PositiveIntegerField(_("version"))  # 1, 2, 3... per model
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    as_of = models.DateField(_("data as of"), null=True, blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    # Quality metrics (AUC, log-likelihood, silhouette...) and a summary (segment sizes,
    # cluster descriptions...) shown on the dashboards.
    metrics = models.JSONField(_("metrics"), default=dict, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    customers_scored = models.PositiveIntegerField(_("customers scored"), default=0)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("model run")
        verbose_name_plural = _("model runs")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["model", "version"], name="analytics_run_version")
        ]

    def __str__(self) -> str:
        return f"{self.model} v{self.version} ({self.status})"
