import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vinculo.settings")
application = get_asgi_application()

from vinculo.core.runtime import tune_garbage_collector  # noqa: E402  (needs settings)

tune_garbage_collector()
