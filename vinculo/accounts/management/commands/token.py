"""``vinculo token create USERNAME [--name N]`` | ``token list USERNAME`` | ``token revoke ID``.

``create`` prints the new key on its last line (and only there), so scripts can take it
with ``| tail -n 1``."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from vinculo.accounts import tokens
from vinculo.core.errors import DomainError


class Command(BaseCommand):
    help = "Create, list or revoke REST API tokens."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token and print it (last line).")
        create.add_argument("username")
        create.add_argument("--name", default="", help="What the token is for.")
        listing = sub.add_parser("list", help="List a user's tokens (never the keys).")
        listing.add_argument("username")
        revoke = sub.add_parser("revoke", help="Revoke a token by its id.")
        revoke.add_argument("token_id", type=int)

    def handle(self, *args, action: str, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except DomainError as exc:
            raise CommandError(exc.message) from exc

    def _user(self, username: str):
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None

    def _create(self, *, username: str, name: str, **_):
        token, key = tokens.create_token(user=self._user(username), name=name)
        self.stdout.write(
            f"Token {token.pk} created for {username}. Keep it secret: it is not shown again."
        )
        self.stdout.write(key)

    def _list(self, *, username: str, **_):
        rows = tokens.tokens_for_user(user=self._user(username))
        if not rows:
            self.stdout.write("No tokens.")
        for t in rows:
            state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
            used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
            self.stdout.write(f"{t.pk}\t{t.prefix}…\t{t.name or '-'}\t{state}\tlast used {used}")

    def _revoke(self, *, token_id: int, **_):
        token = tokens.revoke_token(actor=None, token_id=token_id)
        self.stdout.write(f"Token {token.pk} ({token.prefix}…) revoked at {token.revoked_at}.")
