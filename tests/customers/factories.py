import factory

from vinculo.customers.models import Customer


class CustomerFactory(factory.django.DjangoModelFactory):
    """A plain row; use customers.services.create_customer when channels/audit matter."""

    class Meta:
        model = Customer

    kind = Customer.Kind.PERSON
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    name = factory.LazyAttribute(lambda c: f"{c.first_name} {c.last_name}")
    stage = Customer.Stage.CUSTOMER
    city = "Madrid"
    country = "ES"
