"""vinculo handover FROM_USERNAME TO_USERNAME [--deactivate] [--dry-run]"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from vinculo.core.errors import DomainError
from vinculo.interactions import handover as handover_service


class Command(BaseCommand):
    help = (
        "Hand over everything a user owns (customers, open tasks, registered participants) "
        "to another user. Idempotent: running it again moves nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("from_username", help="the user who leaves")
        parser.add_argument("to_username", help="the user who receives")
        parser.add_argument(
            "--deactivate", action="store_true", help="deactivate the leaver afterwards"
        )
        parser.add_argument("--no-customers", action="store_true", help="keep the customers")
        parser.add_argument("--no-tasks", action="store_true", help="keep the open tasks")
        parser.add_argument("--dry-run", action="store_true", help="only say what would move")

    def handle(self, *args, **opts):
        User = get_user_model()
        ids = {}
        for key in ("from_username", "to_username"):
            try:
                ids[key] = User.objects.get(username=opts[key]).pk
            except User.DoesNotExist:
                raise CommandError(f"No user called {opts[key]!r}.") from None
        kwargs = {
            # actor=None: a system action, run by an operator with shell access.
            "actor": None,
            "from_user_id": ids["from_username"],
            "to_user_id": ids["to_username"],
            "include_customers": not opts["no_customers"],
            "include_tasks": not opts["no_tasks"],
        }
        try:
            if opts["dry_run"]:
                preview = handover_service.handover_preview(**kwargs)
                for name, n in preview.counts.items():
                    self.stdout.write(f"would move {name}: {n}")
                return
            result = handover_service.handover(**kwargs, deactivate_from=opts["deactivate"])
        except DomainError as exc:
            detail = "; ".join(m for msgs in exc.field_errors.values() for m in msgs)
            raise CommandError(detail or exc.message) from None
        for name, n in result.counts.items():
            self.stdout.write(f"{name}: {n}")
        if result.deactivated:
            self.stdout.write(f"deactivated: {opts['from_username']}")
        if result.audit_id:
            self.stdout.write(f"audit entry: {result.audit_id}")
        self.stdout.write(self.style.SUCCESS(result.summary()))
