"""``--background`` for management commands whose work is also a task: queue it for the task
worker instead of running it in the command (cron then only enqueues)."""

from __future__ import annotations

BACKGROUND_HELP = "queue the work for the task worker instead of running it here"


def add_background_option(parser, help: str = BACKGROUND_HELP) -> None:
    parser.add_argument("--background", action="store_true", help=help)


def queue(command, task, *args, message: str, **kwargs) -> None:
    """Enqueue ``task(*args, **kwargs)`` and tell the user what the worker will do."""
    task.enqueue(*args, **kwargs)
    command.stdout.write(message)
