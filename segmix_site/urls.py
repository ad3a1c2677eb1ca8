"""URL routes: the Tracking API under /v1/, the console (login required), auth, health check."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("", include("mappings.ingest.urls")),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("mappings.urls")),
]

# JSON under /v1/ (clients parse it; never an HTML page), Django's defaults elsewhere.
handler400 = "mappings.ingest.views.bad_request"
handler404 = "mappings.ingest.views.page_not_found"
handler500 = "mappings.ingest.views.server_error"
