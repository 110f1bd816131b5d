"""The ``vinculo`` command: Django's management commands under the project's own name,
so ``vinculo migrate``, ``vinculo runserver``, ``vinculo seed`` work as in any Django project."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vinculo.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
