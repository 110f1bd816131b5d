from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from vinculo.core.models import TimeStampedModel, VersionedModel


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=60, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class Customer(VersionedModel):
    """A person or an organization. A person may belong to an organization.

    ``email``/``phone`` mirror the primary channel and ``company_name`` the organization's
    name: services keep them in step so lists and search need no joins at 1M rows."""

    class Kind(models.TextChoices):
        PERSON = "person", _("Person")
        ORGANIZATION = "organization", _("Organization")

    class Stage(models.TextChoices):
        SUBSCRIBER = "subscriber", _("Subscriber")
        LEAD = "lead", _("Lead")
        OPPORTUNITY = "opportunity", _("Opportunity")
        CUSTOMER = "customer", _("Customer")
        INACTIVE = "inactive", _("Inactive")
        # Spanish agrees in gender: a lost customer ("perdido") vs a lost opportunity.
        LOST = "lost", pgettext_lazy("customer stage", "Lost")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.PERSON)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    # Organizations: their name. People: "first last", kept by the service.
    name = models.CharField(_("name"), max_length=255, db_index=True)
    organization = models.ForeignKey(
        "self",
        verbose_name=_("organization"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
        limit_choices_to={"kind": "organization"},
    )
    company_name = models.CharField(_("company"), max_length=255, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, db_index=True)
    # NULL, not "", when absent: the unique constraint below applies only to real ids.
    external_id = models.CharField(_("external id"), max_length=100, null=True, blank=True)  # noqa: DJ001
    stage = models.CharField(
        _("lifecycle stage"), max_length=16, choices=Stage.choices, default=Stage.LEAD
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_customers",
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
    )
    source = models.CharField(_("source"), max_length=100, blank=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="customers")
    language = models.CharField(_("language"), max_length=8, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)  # ISO 3166-1 alpha-2
    region = models.CharField(_("region"), max_length=100, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    # Values of admin-defined custom fields (see CustomField), keyed by CustomField.key.
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    # Scores written back by analytics (rfm, clv, churn...), keyed by model name.
    scores = models.JSONField(_("scores"), default=dict, blank=True)
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    # Set on the losing record of a merge; merged records are hidden everywhere.
    # No plain index: every list filters "merged_into IS NULL", true for nearly all rows, and
    # SQLite (no statistics) would walk that index and sort the whole table. The partial index
    # below serves the reverse lookups (merged_from) only (decision 0013).
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_from",
        db_index=False,
    )

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=Q(external_id__isnull=False),
                name="customer_external_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "name"]),
            models.Index(fields=["team", "name"]),
            models.Index(fields=["stage", "name"]),
            # A rep's list filtered by stage: each visibility branch reads its stage's rows
            # in name order (selectors.customer_page) instead of walking every customer at
            # that stage checking the owner ("customer" + Madrid at 1M: 1.8 -> 0.2 ms).
            models.Index(fields=["owner", "stage", "name"], name="customer_owner_stage_name"),
            models.Index(fields=["team", "stage", "name"], name="customer_team_stage_name"),
            models.Index(fields=["city"]),
            models.Index(fields=["-last_contact_at"]),
            models.Index(fields=["-created_at"]),
            # Rep visibility is "owner = me OR team = mine": each branch is read in sort
            # order from its own index (selectors.visible_page), most recent contact first.
            models.Index(fields=["owner", "-last_contact_at"], name="customer_owner_contact"),
            models.Index(fields=["team", "-last_contact_at"], name="customer_team_contact"),
            # The list's city filter compares lower(city) (selectors.filter_customers).
            models.Index(Lower("city"), name="customer_city_lower"),
            # "Customers in Madrid" (+ stage): the list counts matches up to a cap before it
            # picks a plan; this index answers the count without reading rows (decision 0014).
            models.Index(
                Lower("city"),
                "stage",
                condition=Q(merged_into__isnull=True),
                name="customer_city_stage_live",
            ),
            models.Index(
                fields=["merged_into"],
                condition=Q(merged_into__isnull=False),
                name="customer_merged_into_set",
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"#{self.pk}"

    @property
    def is_organization(self) -> bool:
        return self.kind == self.Kind.ORGANIZATION

    @property
    def language_label(self) -> str:
        """The language's name in the reader's language ("Spanish", "Español"); an unknown
        code (e.g. from an import) is shown as it is."""
        return str(dict(settings.LANGUAGES).get(self.language, self.language))


class ChannelKind(models.TextChoices):
    WORK = "work", _("Work")
    HOME = "home", _("Home")
    MOBILE = "mobile", _("Mobile")
    OTHER = "other", _("Other")


class CustomerEmail(TimeStampedModel):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="emails")
    email = models.CharField(_("email"), max_length=254, db_index=True)
    kind = models.CharField(_("type"), max_length=10, choices=ChannelKind.choices, default="work")
    is_primary = models.BooleanField(_("primary"), default=False)
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)

    class Meta:
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "email"], name="customer_email_unique")
        ]
        verbose_name = _("email address")
        verbose_name_plural = _("email addresses")

    def __str__(self) -> str:
        return self.email


class CustomerPhone(TimeStampedModel):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(_("number (E.164)"), max_length=32, db_index=True)
    kind = models.CharField(_("type"), max_length=10, choices=ChannelKind.choices, default="mobile")
    is_primary = models.BooleanField(_("primary"), default=False)
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)

    class Meta:
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "number"], name="customer_phone_unique")
        ]
        verbose_name = _("phone number")
        verbose_name_plural = _("phone numbers")

    def __str__(self) -> str:
        return self.number


class Address(TimeStampedModel):
    class Kind(models.TextChoices):
        BILLING = "billing", _("Billing")
        SHIPPING = "shipping", _("Shipping")
        HOME = "home", _("Home")
        WORK = "work", _("Work")
        OTHER = "other", _("Other")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default="home")
    street = models.CharField(_("street"), max_length=255, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        verbose_name = _("address")
        verbose_name_plural = _("addresses")

    def __str__(self) -> str:
        return ", ".join(p for p in [self.street, self.postal_code, self.city, self.country] if p)


class CustomField(models.Model):
    """An admin-defined, typed attribute of customers (demographic, psychographic, other).
    Values live in ``Customer.attributes[key]``, validated by customers.services."""

    class Type(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        CHOICE = "choice", _("Choice")
        MULTI_CHOICE = "multi_choice", _("Multiple choice")
        BOOLEAN = "boolean", _("Yes/no")

    class Group(models.TextChoices):
        DEMOGRAPHIC = "demographic", _("Demographic")
        PSYCHOGRAPHIC = "psychographic", _("Psychographic")
        OTHER = "other", _("Other")

    key = models.SlugField(_("key"), max_length=50, unique=True)
    label = models.CharField(_("label"), max_length=100)
    label_es = models.CharField(_("label (Spanish)"), max_length=100, blank=True)
    type = models.CharField(_("type"), max_length=16, choices=Type.choices, default=Type.TEXT)
    group = models.CharField(_("group"), max_length=16, choices=Group.choices, default=Group.OTHER)
    # For choice / multi_choice: list of allowed values (what is stored, imported, exported
    # and sent by the API), and optionally how each is shown: {value: {"en": ..., "es": ...}}.
    choices = models.JSONField(_("choices"), default=list, blank=True)
    choice_labels = models.JSONField(_("choice labels"), default=dict, blank=True)
    required = models.BooleanField(_("required"), default=False)
    position = models.PositiveIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["group", "position", "key"]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")

    def __str__(self) -> str:
        return self.label

    def choice_label(self, value: str, language: str) -> str:
        """How a choice value reads in ``language`` ("es", "en"...): the admin's label in that
        language, else the English one, else the value with spaces, capitalised."""
        labels = (self.choice_labels or {}).get(value) or {}
        lang = (language or "en")[:2]
        return labels.get(lang) or labels.get("en") or value.replace("_", " ").capitalize()


class ImportJob(TimeStampedModel):
    """A customer import: uploaded file, column mapping, dry-run report, then the real run.
    Resumable: ``rows_done`` is the last committed row, and each row commits atomically."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        MAPPED = "mapped", _("Mapped")
        PREVIEWED = "previewed", _("Previewed")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Under core.uploads.IMPORT_UPLOADS_DIR; emptied ("") once the import finishes or is cancelled.
    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(max_length=255)
    format = models.CharField(max_length=8)  # csv, xlsx, vcf
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.UPLOADED)
    mapping = models.JSONField(default=dict, blank=True)  # {"source column": "target field"}
    options = models.JSONField(default=dict, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # [{"row": n, "field": f, "message": m}]

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self) -> str:
        return self.original_name


class CustomerWord(models.Model):
    """One word of a live customer's search document, with what the list search sorts and
    filters by: PostgreSQL's inverted index for a one-word list search, most recent first or by
    name (a word prefix is a range of one btree index that also holds the name and the
    visibility columns, so the matches are found, checked and sorted without reading customer
    rows). Kept by triggers on ``customers_customer`` (``customers.search.PG_WORDS_CREATE``);
    empty on SQLite, whose FTS5 table does this job. Never written by the application
    (decision 0018)."""

    # The primary key (customer_id, word) is the index the triggers delete a customer's words
    # by. The customer is a plain id, not a relation: a merge moves every row related to the
    # loser, and these rows are the triggers' to move (the loser's words go, the survivor's
    # are rewritten with its own).
    pk = models.CompositePrimaryKey("customer_id", "word")
    customer_id = models.BigIntegerField()
    word = models.TextField()
    name = models.CharField(max_length=255)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )

    class Meta:
        verbose_name = "customer search word"

    def __str__(self) -> str:
        return f"{self.word} ({self.customer_id})"
