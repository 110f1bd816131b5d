from django.contrib.auth import views as auth_views
from django.urls import path

from vinculo.accounts import views, views_tokens

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="accounts/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", views.set_language, name="set_language"),
    path("tokens/", views_tokens.api_tokens, name="api_tokens"),
    path("tokens/<int:token_id>/revoke/", views_tokens.revoke_api_token, name="api_token_revoke"),
]
