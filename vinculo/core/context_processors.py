from django.conf import settings


def ui(request):
    return {"LANGUAGES": settings.LANGUAGES, "VINCULO_DEBUG": settings.DEBUG}
