from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from vinculo.core.models import VersionedModel


class Interaction(VersionedModel):
    """One contact between the company and a customer, on any channel: the timeline."""

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        EMAIL = "email", _("Email")
        LETTER = "letter", _("Letter")
        FAX = "fax", _("Fax")
        SMS = "sms", _("SMS")
        CHAT = "chat", _("Chat")
        MEETING = "meeting", _("Meeting")
        WEB_VISIT = "web_visit", _("Web visit")
        FORM = "form", _("Form submission")
        NOTE = "note", _("Note")

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        EMAIL = "email", _("Email")
        POST = "post", _("Post")
        FAX = "fax", _("Fax")
        SMS = "sms", _("SMS")
        CHAT = "chat", _("Chat")
        WEB = "web", _("Web")
        IN_PERSON = "in_person", _("In person")
        VIDEO = "video", _("Video")
        INTERNAL = "internal", _("Internal")

    class Direction(models.TextChoices):
        INBOUND = "in", _("Inbound")
        OUTBOUND = "out", _("Outbound")
        INTERNAL = "internal", _("Internal")

    class Outcome(models.TextChoices):
        NONE = "", _("—")
        CONNECTED = "connected", _("Connected")
        NO_ANSWER = "no_answer", _("No answer")
        VOICEMAIL = "voicemail", _("Left voicemail")
        BUSY = "busy", _("Busy")
        WRONG_NUMBER = "wrong_number", _("Wrong number")
        INTERESTED = "interested", _("Interested")
        NOT_INTERESTED = "not_interested", _("Not interested")
        CALLBACK = "callback", _("Call back later")
        RESOLVED = "resolved", _("Resolved")
        SENT = "sent", _("Sent")
        RECEIVED = "received", _("Received")

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="interactions",
    )
    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    direction = models.CharField(
        _("direction"), max_length=8, choices=Direction.choices, default=Direction.OUTBOUND
    )
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("details"), blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=Outcome.choices, blank=True, default=""
    )
    duration_seconds = models.PositiveIntegerField(_("duration (seconds)"), null=True, blank=True)
    occurred_at = models.DateTimeField(_("when"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="interactions",
    )
    # What the interaction concerns (an opportunity, a case, a campaign... any model).
    related_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    related_id = models.BigIntegerField(null=True, blank=True)
    related = GenericForeignKey("related_type", "related_id")

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-occurred_at", "-id"], name="interaction_timeline"),
            models.Index(fields=["customer", "kind", "-occurred_at"], name="interaction_kind"),
            models.Index(
                fields=["customer", "channel", "-occurred_at"], name="interaction_channel"
            ),
            models.Index(fields=["user", "-occurred_at"], name="interaction_user"),
            models.Index(fields=["-occurred_at", "-id"], name="interaction_recent"),
            models.Index(fields=["related_type", "related_id"], name="interaction_related"),
        ]
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")

    def __str__(self) -> str:
        return self.subject or self.get_kind_display()


class Task(VersionedModel):
    """A follow-up: something a user must do, usually about a customer, by a date."""

    class Priority(models.IntegerChoices):
        LOW = 0, _("Low")
        NORMAL = 1, _("Normal")
        HIGH = 2, _("High")

    title = models.CharField(_("title"), max_length=255)
    notes = models.TextField(_("notes"), blank=True)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tasks",
    )
    interaction = models.ForeignKey(
        Interaction,
        verbose_name=_("from interaction"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_ups",
    )
    due_date = models.DateField(_("due date"), db_index=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.CASCADE,
        related_name="tasks",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    done_at = models.DateTimeField(_("done"), null=True, blank=True)

    class Meta:
        ordering = ["done_at", "due_date", "-priority", "id"]
        indexes = [
            models.Index(fields=["assignee", "done_at", "due_date"], name="task_my_day"),
            models.Index(fields=["customer", "done_at"], name="task_customer_open"),
        ]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.done_at is not None
