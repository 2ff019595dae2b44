"""Settings → AI providers: the list (test, enable or disable, edit, delete).

The add wizard is in ``providers.wizard_views`` and the usage dashboard in ``providers.usage_views``.
Every write goes through ``providers.services`` and every read through ``providers.selectors``, as the
API's do; a secret is never rendered back into a page.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from providers.config_fields import ProviderInvalid
from providers.display import budget_bar, per_mtok
from providers.forms import EditForm, edit_initial, prices_shown
from providers.models import ProviderConfig, ProviderMonth
from providers.pricing import list_prices
from providers.selectors import month_spend, provider_get, providers_visible
from providers.services import provider_delete, provider_test, provider_update


def provider_row(config: ProviderConfig, month: ProviderMonth | None) -> dict:
    """A provider's row on the list: the provider and its month's spend against its budget."""
    return {"config": config, "bar": budget_bar(month.spent_usd if month else 0, config.monthly_budget_usd)}


# --- the list and its actions ------------------------------------------------------------------


@login_required
@require_GET
def providers_page(request: HttpRequest) -> HttpResponse:
    """The user's providers and the operator's shared ones, each with this month's spend: two queries
    (the providers, their month rows) whatever their number."""
    providers = list(providers_visible(user=request.user))
    months = month_spend(providers)
    rows = [provider_row(config, months.get(config.pk)) for config in providers]
    return render(request, "providers/page.html", {"rows": rows, "tab": "ai"})


def own_provider(request: HttpRequest, pk: int) -> ProviderConfig:
    """The user's own provider ``pk``: 404 for anyone else's and for the operator's shared ones."""
    return provider_get(user=request.user, provider_id=pk, own=True)


def _row_answer(request: HttpRequest, config: ProviderConfig, error: str = "") -> HttpResponse:
    if request.htmx:
        row = {**provider_row(config, month_spend([config]).get(config.pk)), "error": error}
        return render(request, "providers/_provider_row.html", {"row": row})
    if error:
        messages.error(request, error)
    return redirect(reverse("providers:list") + f"#provider-{config.pk}")


@login_required
@require_POST
def provider_enable(request: HttpRequest, pk: int) -> HttpResponse:
    """Enable (``enabled=true``) or disable the provider; an HTMX request gets its row."""
    config = own_provider(request, pk)
    try:
        config = provider_update(config=config, data={"enabled": request.POST.get("enabled") == "true"}, partial=True)
    except ProviderInvalid as invalid:
        config.refresh_from_db()
        error = f"{config.name} cannot be changed until it is fixed ({invalid_words(invalid)}): edit it first."
        return _row_answer(request, config, error)
    return _row_answer(request, config)


def invalid_words(invalid: ProviderInvalid) -> str:
    """The service's errors in one line, each after its field's name."""
    return "; ".join(f"{name}: {' '.join(errors)}" for name, errors in invalid.extra.items())


@login_required
@require_POST
def provider_test_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A minimal real request through the provider (the operator's too): ok with latency, or its error."""
    config = provider_get(user=request.user, provider_id=pk)
    outcome = provider_test(config=config, user=request.user)
    if request.htmx:
        return render(request, "providers/_test_result.html", {"outcome": outcome, "config": config})
    if outcome["ok"]:
        messages.success(request, f"{config.name} answered in {outcome['latency_ms']} ms ({outcome['model']}).")
    else:
        messages.error(request, f"{config.name} failed the test: {outcome['error']}")
    return redirect(reverse("providers:list") + f"#provider-{config.pk}")


@login_required
@require_http_methods(["GET", "POST"])
def provider_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the provider's form (secrets never shown); POST: save it (its kind stays)."""
    config = own_provider(request, pk)
    if request.method == "GET":
        form = _edit_form(config, initial=edit_initial(config))
        return render(request, "providers/edit.html", {"form": form, "config": config})
    form = _edit_form(config, data=request.POST)
    if form_saved(form, lambda data: provider_update(config=config, data={"kind": config.kind, **data}, partial=False)):
        messages.success(request, f"Saved {config.name}.")
        return redirect(reverse("providers:list") + f"#provider-{config.pk}")
    config.refresh_from_db()
    return render(request, "providers/edit.html", {"form": form, "config": config}, status=400)


def _edit_form(config: ProviderConfig, **given) -> EditForm:
    """The edit form with the stored key's hint and the model's list prices as placeholders."""
    form = EditForm(kind=config.kind, **given)
    if config.has_key and form.secret_names:
        hint = escape(config.key_hint)  # the shared field template shows help text as HTML
        form.fields[form.secret_names[0]].help_text = f"Stored encrypted ({hint}). Leave empty to keep it."
    prices_shown(form, list_prices_text(config.kind, config.model))
    return form


def list_prices_text(kind: str, model: str) -> dict | None:
    """genai-prices' prices of the model, as the pages write them; None when unknown."""
    listed = list_prices(kind=kind, model=model)
    return {name: per_mtok(value) for name, value in vars(listed).items()} if listed else None


def form_saved(form, save) -> ProviderConfig | None:
    """What ``save(data)`` answers, or None with the form's and the service's errors on the form."""
    if not form.is_valid():
        return None
    try:
        return save(form.provider_data())
    except ProviderInvalid as invalid:
        form.add_service_errors(invalid.extra)
        return None


@login_required
@require_http_methods(["GET", "POST"])
def provider_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the confirmation; POST: delete the provider (its usage records stay for the history)."""
    config = own_provider(request, pk)
    if request.method == "GET":
        return render(request, "providers/confirm_delete.html", {"config": config})
    name = config.name
    provider_delete(config=config)
    messages.success(request, f"Deleted {name}. Its past usage stays in the usage dashboard.")
    return redirect("providers:list")
