"""Sales: the catalog (categories, products, variants, options, bundles), price lists,
promotions and orders. Leads, pipelines and quotes join in later steps of issue #3."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from vinculo.core.models import TimeStampedModel, VersionedModel

MONEY = {"max_digits": 14, "decimal_places": 2}
ZERO = Decimal("0.00")


class Category(models.Model):
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # "Electronics/Phones/Smartphones": kept by the service, for roll-ups and subtree queries.
    path = models.CharField(max_length=500, db_index=True, editable=False)

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="category_unique_in_parent")
        ]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.path or self.name


class Product(VersionedModel):
    class Kind(models.TextChoices):
        SIMPLE = "simple", _("Simple product")
        TEMPLATE = "template", _("Product with variants")
        VARIANT = "variant", _("Variant")
        CONFIGURABLE = "configurable", _("Configurable product")
        BUNDLE = "bundle", _("Bundle / kit")

    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.SIMPLE)
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="products",
    )
    # Variants point at their template; their attribute values are in ``variant_values``.
    parent = models.ForeignKey(
        "self",
        verbose_name=_("variant of"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="variants",
    )
    variant_values = models.JSONField(_("variant attributes"), default=dict, blank=True)
    price = models.DecimalField(_("price"), **MONEY, validators=[MinValueValidator(ZERO)])
    cost = models.DecimalField(
        _("cost"), **MONEY, default=ZERO, validators=[MinValueValidator(ZERO)]
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    tax_rate = models.DecimalField(
        _("tax rate (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("21.00"),
        validators=[MinValueValidator(ZERO)],
    )
    stock_on_hand = models.IntegerField(_("stock on hand"), default=0)
    stock_reserved = models.IntegerField(_("stock reserved"), default=0)
    track_stock = models.BooleanField(_("track stock"), default=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name", "sku"]
        indexes = [
            models.Index(fields=["category", "active"]),
            models.Index(fields=["parent"]),
            # The catalog page's default order (templates and plain products by name): the
            # first page is read from the index instead of sorting the whole catalog.
            models.Index(
                fields=["name", "sku"],
                condition=models.Q(parent__isnull=True),
                name="product_top_name",
            ),
        ]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"

    @property
    def is_sellable(self) -> bool:
        return self.active and self.kind != self.Kind.TEMPLATE


class ProductAttribute(models.Model):
    """An axis of variation of a template product: size = [S, M, L]."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="attributes")
    name = models.CharField(_("name"), max_length=60)
    values = models.JSONField(_("values"), default=list)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "name"], name="product_attribute_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name}: {', '.join(self.values)}"


class ProductOption(models.Model):
    """An option of a configurable product with a price delta and compatibility rules."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="options")
    group = models.CharField(_("group"), max_length=60, blank=True)
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    price_delta = models.DecimalField(_("price change"), **MONEY, default=ZERO)
    # Within a group marked exclusive, at most one option may be chosen.
    exclusive_group = models.BooleanField(_("one per group"), default=True)
    required_group = models.BooleanField(_("group is required"), default=False)
    requires = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="required_by",
        verbose_name=_("requires"),
    )
    excludes = models.ManyToManyField(
        "self",
        symmetrical=True,
        blank=True,
        verbose_name=_("excludes"),
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["group", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "code"], name="option_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.group}: {self.name}" if self.group else self.name


class BundleItem(models.Model):
    bundle = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="bundle_items")
    component = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="in_bundles")
    quantity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bundle", "component"], name="bundle_component_unique")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.component_id}"


class PriceList(TimeStampedModel):
    """Prices for a segment (customer tag), a channel, a currency and a date range. The
    highest-priority list that applies wins; quantity breaks inside a list."""

    name = models.CharField(_("name"), max_length=100)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    channel = models.CharField(_("channel"), max_length=10, blank=True)  # blank = any
    customer_tag = models.ForeignKey(
        "customers.Tag",
        verbose_name=_("customer segment (tag)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_to = models.DateTimeField(_("valid to"), null=True, blank=True)
    priority = models.IntegerField(_("priority"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["-priority", "name"]
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")

    def __str__(self) -> str:
        return self.name


class PriceListItem(models.Model):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="price_items")
    min_quantity = models.PositiveIntegerField(_("from quantity"), default=1)
    price = models.DecimalField(_("unit price"), **MONEY, validators=[MinValueValidator(ZERO)])

    class Meta:
        ordering = ["product", "min_quantity"]
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "product", "min_quantity"], name="price_break_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.product_id} ≥{self.min_quantity}: {self.price}"


class Promotion(TimeStampedModel):
    class Kind(models.TextChoices):
        PERCENT = "percent", _("Percentage off")
        AMOUNT = "amount", _("Amount off")
        BUY_X_GET_Y = "buy_x_get_y", _("Buy X get Y free")
        FREE_SHIPPING = "free_shipping", _("Free shipping")

    name = models.CharField(_("name"), max_length=100)
    # A coupon when set (the customer types it); automatic when blank.
    code = models.CharField(_("coupon code"), max_length=40, null=True, blank=True, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    value = models.DecimalField(_("value"), **MONEY, default=ZERO)  # percent or amount
    buy_quantity = models.PositiveIntegerField(_("buy"), default=0)
    get_quantity = models.PositiveIntegerField(_("get free"), default=0)
    min_amount = models.DecimalField(_("minimum amount"), **MONEY, null=True, blank=True)
    products = models.ManyToManyField(Product, blank=True, related_name="promotions")
    categories = models.ManyToManyField(Category, blank=True, related_name="promotions")
    customer_tag = models.ForeignKey(
        "customers.Tag",
        verbose_name=_("customer segment (tag)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    first_order_only = models.BooleanField(_("first order only"), default=False)
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_to = models.DateTimeField(_("valid to"), null=True, blank=True)
    max_uses_total = models.PositiveIntegerField(_("uses in total"), null=True, blank=True)
    max_uses_per_customer = models.PositiveIntegerField(
        _("uses per customer"), null=True, blank=True
    )
    stackable = models.BooleanField(_("combines with other promotions"), default=True)
    priority = models.IntegerField(_("priority"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["-priority", "id"]
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")

    def __str__(self) -> str:
        return self.name


class PromotionCode(models.Model):
    """One of many coupon codes of a promotion (generated in batches); any of them unlocks it.
    Usage limits stay on the promotion, counted by its redemptions."""

    promotion = models.ForeignKey(Promotion, on_delete=models.CASCADE, related_name="codes")
    code = models.CharField(_("coupon code"), max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("coupon code")
        verbose_name_plural = _("coupon codes")

    def __str__(self) -> str:
        return self.code


class Order(VersionedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        CONFIRMED = "confirmed", _("Confirmed")
        PAID = "paid", _("Paid")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        CANCELLED = "cancelled", _("Cancelled")
        RETURNED = "returned", _("Returned")

    class Channel(models.TextChoices):
        WEB = "web", _("Web")
        PHONE = "phone", _("Phone")
        STORE = "store", _("Store")
        REP = "rep", _("Sales rep")
        PORTAL = "portal", _("Portal")

    number = models.CharField(_("number"), max_length=32, unique=True)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="orders",
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    subtotal = models.DecimalField(_("subtotal"), **MONEY, default=ZERO)
    discount_total = models.DecimalField(_("discounts"), **MONEY, default=ZERO)
    tax_total = models.DecimalField(_("taxes"), **MONEY, default=ZERO)
    shipping = models.DecimalField(_("shipping"), **MONEY, default=ZERO)
    total = models.DecimalField(_("total"), **MONEY, default=ZERO)
    coupon_codes = models.JSONField(default=list, blank=True)
    pricing = models.JSONField(default=dict, blank=True)  # the pricing result, for explanation
    external_reference = models.CharField(max_length=64, null=True, blank=True, unique=True)
    ordered_at = models.DateTimeField(_("ordered at"), null=True, blank=True, db_index=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-ordered_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "status", "-ordered_at"]),
            # The order list reads a page in these orders (sort by total, by status) and the
            # status filter with the default sort: an index walk, not a sort of 4M orders.
            models.Index(fields=["total", "id"], name="order_list_total"),
            models.Index(fields=["status", "ordered_at", "id"], name="order_list_status"),
        ]
        verbose_name = _("order")
        verbose_name_plural = _("orders")

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    # Component lines of a bundle point at the bundle's line.
    bundle_line = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="components"
    )
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    options = models.JSONField(default=list, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)
    unit_cost = models.DecimalField(**MONEY, default=ZERO)
    discount = models.DecimalField(**MONEY, default=ZERO)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, default=ZERO)
    tax = models.DecimalField(**MONEY, default=ZERO)
    total = models.DecimalField(**MONEY, default=ZERO)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"


class OrderStatusChange(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_history")
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    changed_at = models.DateTimeField(auto_now_add=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"


class PromotionRedemption(models.Model):
    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="redemptions")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="redemptions")
    amount = models.DecimalField(**MONEY, default=ZERO)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["promotion", "order"], name="redemption_once_per_order")
        ]
        indexes = [models.Index(fields=["promotion", "customer"])]

    def __str__(self) -> str:
        return f"{self.promotion_id} on {self.order_id}"


# --- leads ----------------------------------------------------------------------------------


class Lead(VersionedModel):
    """A sales inquiry. It hangs off a customer record (created or matched at capture, in
    lifecycle stage "lead"), so everything logged before conversion is already on the
    customer's one timeline; conversion adds an opportunity and moves the stage on."""

    class Status(models.TextChoices):
        NEW = "new", _("New")
        CONTACTED = "contacted", _("Contacted")
        QUALIFIED = "qualified", _("Qualified")
        DISQUALIFIED = "disqualified", _("Disqualified")
        CONVERTED = "converted", _("Converted")

    class Source(models.TextChoices):
        WEB_FORM = "web_form", _("Web form")
        API = "api", _("API")
        IMPORT = "import", _("Import")
        MANUAL = "manual", _("Manual entry")
        REFERRAL = "referral", _("Referral")
        EVENT = "event", _("Event")
        PHONE = "phone", _("Inbound call")

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="leads",
    )
    status = models.CharField(
        _("status"), max_length=14, choices=Status.choices, default=Status.NEW
    )
    disqualified_reason = models.CharField(_("reason"), max_length=255, blank=True)
    source = models.CharField(
        _("source"), max_length=12, choices=Source.choices, default=Source.MANUAL
    )
    campaign = models.CharField(_("campaign"), max_length=150, blank=True, db_index=True)
    acquisition_cost = models.DecimalField(_("acquisition cost"), **MONEY, default=ZERO)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=150, blank=True)
    utm_term = models.CharField(max_length=100, blank=True)
    utm_content = models.CharField(max_length=100, blank=True)
    consent_marketing = models.BooleanField(_("consented to marketing"), default=False)
    consent_text = models.CharField(_("consent wording shown"), max_length=500, blank=True)
    message = models.TextField(_("message"), blank=True)
    form_data = models.JSONField(default=dict, blank=True)  # the raw capture, for audit
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
    )
    score = models.IntegerField(_("score"), default=0, db_index=True)
    score_fit = models.IntegerField(default=0)
    score_engagement = models.IntegerField(default=0)
    score_reasons = models.JSONField(default=list, blank=True)  # [{"label":..., "points":...}]
    scored_at = models.DateTimeField(null=True, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    opportunity = models.OneToOneField(
        "sales.Opportunity",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="from_lead",
    )

    class Meta:
        ordering = ["-score", "created_at"]
        indexes = [
            # "My queue": each owner's leads of one status in queue order (score, then age).
            models.Index(
                fields=["owner", "status", "-score", "created_at", "id"], name="lead_queue_order"
            ),
            # The lead list's sorts (selectors_leads.LEAD_ORDERS), read a page at a time.
            models.Index(fields=["-score", "created_at", "id"], name="lead_list_score"),
            models.Index(fields=["created_at", "id"], name="lead_list_created"),
            models.Index(fields=["status", "created_at", "id"], name="lead_list_status"),
            models.Index(fields=["source", "created_at", "id"], name="lead_list_source"),
            models.Index(fields=["acquisition_cost", "created_at", "id"], name="lead_list_cost"),
            models.Index(fields=["status", "-created_at"]),
        ]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")

    def __str__(self) -> str:
        return f"{self.customer} ({self.get_source_display()})"


class LeadScoringRule(models.Model):
    """A fit rule: when the lead's customer matches, add ``points`` (negative allowed)."""

    class Operator(models.TextChoices):
        EQUALS = "eq", _("is")
        NOT_EQUALS = "neq", _("is not")
        IN = "in", _("is one of")
        CONTAINS = "contains", _("contains")
        GTE = "gte", _("is at least")
        LTE = "lte", _("is at most")
        PRESENT = "present", _("is filled in")

    label = models.CharField(_("label"), max_length=100)
    # A customer field ("country", "kind", "city"), a lead field ("lead.source") or a custom
    # field ("attributes.income_band").
    field = models.CharField(_("field"), max_length=80)
    operator = models.CharField(_("operator"), max_length=10, choices=Operator.choices)
    value = models.JSONField(_("value"), default=str, blank=True)
    points = models.IntegerField(_("points"))
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("scoring rule")
        verbose_name_plural = _("scoring rules")

    def __str__(self) -> str:
        return self.label


class AssignmentRule(models.Model):
    """Who gets a new lead. Rules are tried in order; the first that matches assigns."""

    class Kind(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("Round-robin within a team")
        TERRITORY = "territory", _("By territory (region or country)")
        SOURCE = "source", _("By source")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="+")
    match_value = models.CharField(_("region, country or source"), max_length=100, blank=True)
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(_("active"), default=True)
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")

    def __str__(self) -> str:
        return self.name


def _new_form_key() -> str:
    import secrets

    return secrets.token_urlsafe(24)


class LeadWebForm(TimeStampedModel):
    """A website form that posts leads to ``/forms/lead/<key>/`` without a login. The key is
    the secret that lets a site post (rotate it by giving a new one); what the visitor does
    not type (source, campaign, cost, consent wording) comes from here."""

    name = models.CharField(_("name"), max_length=100)
    key = models.CharField(_("key"), max_length=64, unique=True, default=_new_form_key)
    source = models.CharField(
        _("source"), max_length=12, choices=Lead.Source.choices, default=Lead.Source.WEB_FORM
    )
    campaign = models.CharField(_("campaign"), max_length=150, blank=True)
    acquisition_cost = models.DecimalField(
        _("cost per lead"), **MONEY, default=ZERO, validators=[MinValueValidator(ZERO)]
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    consent_text = models.CharField(_("consent wording"), max_length=500, blank=True)
    redirect_url = models.URLField(_("thank-you page"), blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("lead web form")
        verbose_name_plural = _("lead web forms")

    def __str__(self) -> str:
        return self.name


# --- pipelines and opportunities --------------------------------------------------------------


# The standard pipeline and stage names are data (found by name, so not stored translated)
# but read in the user's language; a name someone typed is shown as typed.
STANDARD_NAMES = {
    "Sales": pgettext_lazy("pipeline", "Sales"),
    "Qualification": pgettext_lazy("pipeline stage", "Qualification"),
    "Needs analysis": pgettext_lazy("pipeline stage", "Needs analysis"),
    "Proposal": pgettext_lazy("pipeline stage", "Proposal"),
    "Negotiation": pgettext_lazy("pipeline stage", "Negotiation"),
    "Won": pgettext_lazy("pipeline stage", "Won"),
    "Lost": pgettext_lazy("pipeline stage", "Lost"),
}


def standard_name(name: str) -> str:
    return str(STANDARD_NAMES.get(name, name))


class Pipeline(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    is_default = models.BooleanField(_("default"), default=False)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return standard_name(self.name)


class Stage(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(default=0)
    probability = models.PositiveSmallIntegerField(_("probability (%)"), default=10)
    is_won = models.BooleanField(_("won stage"), default=False)
    is_lost = models.BooleanField(_("lost stage"), default=False)

    class Meta:
        ordering = ["pipeline", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_name_unique")
        ]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return standard_name(self.name)


class Opportunity(VersionedModel):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    name = models.CharField(_("name"), max_length=200)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="opportunities",
    )
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="opportunities")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="opportunities")
    status = models.CharField(
        _("status"), max_length=6, choices=Status.choices, default=Status.OPEN
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opportunities",
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opportunities",
    )
    amount = models.DecimalField(_("amount"), **MONEY, default=ZERO)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    # When true the amount is the priced total of the product lines (before tax).
    amount_from_lines = models.BooleanField(default=False)
    expected_close_date = models.DateField(
        _("expected close"), null=True, blank=True, db_index=True
    )
    next_step = models.CharField(_("next step"), max_length=255, blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)
    lost_reason = models.CharField(_("lost reason"), max_length=255, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    position = models.IntegerField(default=0)  # order within a board column

    class Meta:
        ordering = ["position", "-amount", "id"]
        indexes = [
            models.Index(fields=["pipeline", "status", "stage"], name="opp_board"),
            models.Index(fields=["owner", "status", "expected_close_date"], name="opp_forecast"),
            # The board reads each column's first cards in order from these, whatever the
            # column's size, with or without the owner filter (decision 0014). The pipeline
            # leads so that SQLite, which has no statistics, prefers them to opp_board.
            models.Index(
                fields=["pipeline", "stage", "status", "position", "-amount", "id"],
                name="opp_column",
            ),
            # A column's count and amount (at most 500 rows) read from the index alone; in
            # customer order, so the visibility join reads customers in order too (4x faster
            # than in card order on SQLite).
            models.Index(
                fields=["pipeline", "stage", "status", "customer", "owner", "amount"],
                name="opp_column_count",
            ),
            models.Index(
                fields=["pipeline", "stage", "closed_at", "id", "customer", "owner", "amount"],
                name="opp_column_closed_cover",
            ),
            # One owner's column: its cards in order, and its count from the index alone.
            models.Index(
                fields=[
                    *("owner", "pipeline", "stage", "status", "position", "-amount", "id"),
                    "customer",
                ],
                name="opp_column_owner_cover",
            ),
            models.Index(
                fields=["owner", "pipeline", "stage", "closed_at", "id", "customer", "amount"],
                name="opp_column_owner_closed_c",
            ),
            # The opportunity list's sorts, read a page at a time (the close date has its own).
            models.Index(fields=["name", "id"], name="opp_list_name"),
            models.Index(fields=["amount", "id"], name="opp_list_amount"),
            models.Index(fields=["created_at", "id"], name="opp_list_created"),
            # One column of the board as a list (its "See all" link): by closing date.
            models.Index(
                fields=["pipeline", "stage", "expected_close_date", "id"], name="opp_list_stage"
            ),
            # ... and newest first; a pipeline's newest (filters the creation date is not spread
            # along: SQLite sorted a whole stage or pipeline for them).
            models.Index(
                fields=["pipeline", "stage", "created_at", "id"], name="opp_list_stage_created"
            ),
            models.Index(fields=["pipeline", "created_at", "id"], name="opp_list_pipeline_created"),
        ]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")

    def __str__(self) -> str:
        return self.name


class OpportunityLine(models.Model):
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(default=1)
    option_codes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id}"


class StageHistory(models.Model):
    """One row per stay of an opportunity in a stage (entered → left), for velocity and
    stage-to-stage conversion."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="stage_history"
    )
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    entered_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["entered_at", "id"]
        indexes = [models.Index(fields=["stage", "entered_at"])]

    def __str__(self) -> str:
        return f"{self.opportunity_id} in {self.stage_id}"


class Quota(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quotas"
    )
    month = models.DateField(_("month"))  # the first day of the month
    amount = models.DecimalField(_("quota"), **MONEY)
    currency = models.CharField(max_length=3, default="EUR")

    class Meta:
        ordering = ["month", "user"]
        constraints = [models.UniqueConstraint(fields=["user", "month"], name="quota_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.month:%Y-%m}: {self.amount}"


# --- quotes -----------------------------------------------------------------------------------


class Quote(VersionedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SENT = "sent", _("Sent")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        EXPIRED = "expired", _("Expired")

    number = models.CharField(_("number"), max_length=32, unique=True)
    opportunity = models.ForeignKey(
        Opportunity, null=True, blank=True, on_delete=models.SET_NULL, related_name="quotes"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="quotes"
    )
    status = models.CharField(
        _("status"), max_length=9, choices=Status.choices, default=Status.DRAFT
    )
    valid_until = models.DateField(_("valid until"))
    currency = models.CharField(max_length=3, default="EUR")
    channel = models.CharField(max_length=8, default="rep")
    coupon_codes = models.JSONField(default=list, blank=True)
    subtotal = models.DecimalField(**MONEY, default=ZERO)
    discount_total = models.DecimalField(**MONEY, default=ZERO)
    tax_total = models.DecimalField(**MONEY, default=ZERO)
    shipping = models.DecimalField(**MONEY, default=ZERO)
    total = models.DecimalField(**MONEY, default=ZERO)
    pricing = models.JSONField(default=dict, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(_("reason for rejection"), max_length=500, blank=True)
    # A revision is a new draft copied from a sent, rejected or expired quote; the quote it
    # revises stays as it was, so the customer's history keeps what was really offered.
    revises = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="revisions"
    )
    order = models.OneToOneField(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="quote"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        # The nightly expiry reads open quotes by date; accepted and closed ones never again.
        indexes = [
            models.Index(
                fields=["valid_until"],
                condition=models.Q(status__in=["draft", "sent"]),
                name="quote_open_valid_until",
            )
        ]
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")

    def __str__(self) -> str:
        return self.number


class QuoteLine(models.Model):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    option_codes = models.JSONField(default=list, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)
    price_rule = models.CharField(max_length=200, blank=True)
    discount = models.DecimalField(**MONEY, default=ZERO)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, default=ZERO)
    tax = models.DecimalField(**MONEY, default=ZERO)
    total = models.DecimalField(**MONEY, default=ZERO)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"
