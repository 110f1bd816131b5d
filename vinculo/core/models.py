from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    """created/updated timestamps; ``updated_at`` is the ETL watermark, hence indexed."""

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)

    class Meta:
        abstract = True


class VersionedModel(TimeStampedModel):
    """Optimistic locking: every write through a service bumps ``version``; a write that
    names a stale version is refused with a Conflict instead of overwriting silently."""

    version = models.PositiveIntegerField(default=1)

    class Meta:
        abstract = True


class AuditEntry(models.Model):
    """Who changed what and when. Written in the same transaction as the change itself."""

    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Updated")
        DELETE = "delete", _("Deleted")
        MERGE = "merge", _("Merged")
        UNMERGE = "unmerge", _("Merge undone")
        IMPORT = "import", _("Imported")
        HANDOVER = "handover", _("Handed over")

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    # "customers.customer", "interactions.interaction"... kept as text so core depends on nothing.
    object_type = models.CharField(max_length=64)
    object_id = models.BigIntegerField(null=True)
    object_repr = models.CharField(max_length=255, blank=True)
    # The customer whose 360° page shows this entry (no FK: core sits below customers).
    customer_id = models.BigIntegerField(null=True, db_index=True)
    # {"field": [before, after], ...}
    changes = models.JSONField(default=dict, blank=True)
    # Extra data needed to undo (e.g. the ids a merge moved) or to explain the action.
    payload = models.JSONField(default=dict, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}#{self.object_id}"
