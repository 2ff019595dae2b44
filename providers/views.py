"""Settings → AI providers: the list (test, enable or disable, edit, delete), the five-step add wizard
(provider → credentials → model → budget and prices → test) and the usage dashboard.

Every write goes through ``providers.services`` and every read through ``providers.selectors``, as the
API's do. The wizard keeps its answers in the session, secrets as one Fernet token (providers.crypto),
and never renders a secret back into a page.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, Max, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from providers.adapters.base import ProviderError
from providers.budgets import month_start
from providers.config_fields import ProviderInvalid, provider_clean
from providers.crypto import key_hint, secrets_decrypt, secrets_encrypt
from providers.forms import (
    KIND_NOTES,
    BudgetForm,
    CredentialsForm,
    EditForm,
    KindForm,
    ModelStepForm,
    edit_initial,
    prices_shown,
)
from providers.models import ProviderConfig, ProviderMonth, UsageRecord
from providers.pricing import list_prices
from providers.selectors import month_spend, provider_get, providers_visible, usage_summary
from providers.services import (
    provider_create,
    provider_delete,
    provider_models_preview,
    provider_test,
    provider_update,
)

WIZARD = "providers.wizard"  # the session key of the add wizard's answers so far
STEPS = (("kind", "Provider"), ("credentials", "Credentials"), ("model", "Model"), ("budget", "Budget"),
         ("test", "Test"))  # fmt: skip
WARN_PERCENT = 80  # where a budget bar turns amber, as the 80 % notice does
TOP_CONVERSATIONS = 10
KINDS = [(value, label, KIND_NOTES[value]) for value, label in ProviderConfig.Kind.choices]


# --- display helpers ---------------------------------------------------------------------------


def usd(value) -> str:
    """Dollars to the cent; a fraction of a cent to four places, so a small cost does not read as zero."""
    amount = Decimal(value or 0)
    if amount == 0:
        return "$0.00"
    if amount < Decimal("0.0001"):
        return "< $0.0001"
    return f"${amount:,.4f}" if amount < Decimal("0.01") else f"${amount:,.2f}"


def per_mtok(value: Decimal) -> str:
    """A price per million tokens: to the cent at least, every digit it has beyond (0.10, 0.075)."""
    text = format(value.normalize(), "f")
    return f"{value:.2f}" if len(text.partition(".")[2]) < 2 else text


def budget_bar(spent, budget) -> dict:
    """What a spend-against-budget bar shows: its width (0 to 100), level (ok, warn, over) and words."""
    spent = Decimal(spent or 0)
    if budget is None:
        return {"percent": None, "width": 0, "level": "none", "text": f"{usd(spent)} · no budget"}
    budget = Decimal(budget)
    percent = int((spent / budget * 100).quantize(Decimal(1), ROUND_HALF_UP)) if budget else (100 if spent else 0)
    level = "over" if percent >= 100 else "warn" if percent >= WARN_PERCENT else "ok"
    width = min(percent, 100)
    return {"percent": percent, "width": width, "level": level, "text": f"{usd(spent)} of {usd(budget)}"}


def provider_row(config: ProviderConfig, month: ProviderMonth | None) -> dict:
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


def _own(request: HttpRequest, pk: int) -> ProviderConfig:
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
    config = _own(request, pk)
    try:
        config = provider_update(config=config, data={"enabled": request.POST.get("enabled") == "true"}, partial=True)
    except ProviderInvalid as invalid:
        config.refresh_from_db()
        error = f"{config.name} cannot be changed until it is fixed ({_named(invalid)}): edit it first."
        return _row_answer(request, config, error)
    return _row_answer(request, config)


def _named(invalid: ProviderInvalid) -> str:
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
    config = _own(request, pk)
    if request.method == "GET":
        form = _edit_form(config, initial=edit_initial(config))
        return render(request, "providers/edit.html", {"form": form, "config": config})
    form = _edit_form(config, data=request.POST)
    if _saved(form, lambda data: provider_update(config=config, data={"kind": config.kind, **data}, partial=False)):
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
    prices_shown(form, _list_prices(config.kind, config.model))
    return form


def _list_prices(kind: str, model: str) -> dict | None:
    """genai-prices' prices of the model, as the pages write them; None when unknown."""
    listed = list_prices(kind=kind, model=model)
    return {name: per_mtok(value) for name, value in vars(listed).items()} if listed else None


def _saved(form, save) -> ProviderConfig | None:
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
    config = _own(request, pk)
    if request.method == "GET":
        return render(request, "providers/confirm_delete.html", {"config": config})
    name = config.name
    provider_delete(config=config)
    messages.success(request, f"Deleted {name}. Its past usage stays in the usage dashboard.")
    return redirect("providers:list")


# --- the add wizard ----------------------------------------------------------------------------


def _state(request: HttpRequest) -> dict:
    return request.session.get(WIZARD) or {"reached": 0, "fields": {}}


def _store(request: HttpRequest, state: dict, reached: int) -> None:
    request.session[WIZARD] = {**state, "reached": max(state.get("reached", 0), reached)}


def _secrets(state: dict) -> dict:
    return secrets_decrypt(state.get("secrets", ""))


def _data(state: dict) -> dict:
    """The wizard's answers as the API's fields, secrets included (decrypted, server-side only)."""
    return {"kind": state["kind"], **state.get("fields", {}), **_secrets(state)}


def _step_url(name: str) -> str:
    return reverse("providers:add" if name == "kind" else f"providers:add-{name}")


def _ahead(request: HttpRequest, name: str) -> HttpResponse | None:
    """A redirect to the first step not answered yet when step ``name`` comes after it (GET or POST)."""
    reached = _state(request).get("reached", 0)
    if [step for step, _ in STEPS].index(name) > reached:
        return redirect(_step_url(STEPS[reached][0]))
    return None


def _step(request: HttpRequest, name: str, form, status: int = 200, **extra) -> HttpResponse:
    """The wizard's page at step ``name``."""
    state = _state(request)
    index = [step for step, _ in STEPS].index(name)
    kind = state.get("kind")
    steps = [{"name": n, "label": label, "url": _step_url(n), "done": i < index, "open": i <= state["reached"]}
             for i, (n, label) in enumerate(STEPS)]  # fmt: skip
    context = {"steps": steps, "step": name, "number": index + 1, "form": form, "state": state,
               "kind_label": ProviderConfig.Kind(kind).label if kind else "", **extra}  # fmt: skip
    return render(request, "providers/wizard.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def add_kind(request: HttpRequest) -> HttpResponse:
    """Step 1, the provider's kind (``?new`` starts over). Another kind than before forgets the answers."""
    if request.method == "GET":
        if "new" in request.GET:
            request.session.pop(WIZARD, None)
        form = KindForm(initial={"kind": _state(request).get("kind")})
        return _step(request, "kind", form, kinds=KINDS)
    form = KindForm(request.POST)
    if not form.is_valid():
        return _step(request, "kind", form, status=400, kinds=KINDS)
    state, kind = _state(request), form.cleaned_data["kind"]
    if state.get("kind") != kind:
        state = {"kind": kind, "fields": {}, "saved": state.get("saved"), "reached": 1}
    _store(request, state, 1)
    return redirect("providers:add-credentials")


@login_required
@require_http_methods(["GET", "POST"])
def add_credentials(request: HttpRequest) -> HttpResponse:
    """Step 2: the credentials of the kind; a secret typed before is kept unless a new one is typed."""
    if ahead := _ahead(request, "credentials"):
        return ahead
    state = _state(request)
    stored = _secrets(state)
    if request.method == "GET":
        form = _kept(CredentialsForm(initial=state["fields"], kind=state["kind"]), stored)
        return _step(request, "credentials", form)
    form = _kept(CredentialsForm(request.POST, kind=state["kind"]), stored)
    if form.is_valid():
        typed = form.provider_data()
        secrets = {**stored, **{name: typed.pop(name) for name in form.secret_names if name in typed}}
        try:
            provider_clean(data={"kind": state["kind"], "model": "-", **typed, **secrets})
        except ProviderInvalid as invalid:
            form.add_service_errors(invalid.extra)
        else:
            fields = {**state["fields"], **typed}
            _store(request, {**state, "fields": fields, "secrets": secrets_encrypt(secrets)}, 2)
            return redirect("providers:add-model")
    return _step(request, "credentials", form, status=400)


def _kept(form: CredentialsForm, stored: dict) -> CredentialsForm:
    """Says which secrets were typed before (by their hint only) and are kept when left empty."""
    for name in form.secret_names:
        if stored.get(name):
            hint = escape(key_hint(stored[name]))  # the shared field template shows help text as HTML
            form.fields[name].help_text = f"Entered ({hint}): leave empty to keep it, or type a new one."
    return form


@login_required
@require_http_methods(["GET", "POST"])
def add_model(request: HttpRequest) -> HttpResponse:
    """Step 3: the default model; the page then asks for the provider's live list (target ``model-list``)."""
    if ahead := _ahead(request, "model"):
        return ahead
    state = _state(request)
    if request.method == "GET" and request.htmx and request.htmx.target == "model-list":
        return _models(request, state)
    if request.method == "GET":
        form = ModelStepForm(initial={"model": state["fields"].get("model", "")}, kind=state["kind"])
        return _step(request, "model", form)
    form = ModelStepForm(request.POST, kind=state["kind"])
    if not form.is_valid():
        return _step(request, "model", form, status=400)
    _store(request, {**state, "fields": {**state["fields"], "model": form.cleaned_data["model"]}}, 3)
    return redirect("providers:add-budget")


def _models(request: HttpRequest, state: dict) -> HttpResponse:
    """The model step's list: the provider's models for the credentials typed, or its error in words."""
    context = {"models": None, "error": "", "chosen": state["fields"].get("model", "")}
    try:
        context["models"] = provider_models_preview(data=_data(state))
    except ProviderError as failed:
        context["error"] = failed.message
    except ProviderInvalid as invalid:
        context["error"] = _named(invalid)
    label = ProviderConfig.Kind(state["kind"]).label
    return render(request, "providers/wizard/_models.html", {**context, "kind_label": label})


@login_required
@require_http_methods(["GET", "POST"])
def add_budget(request: HttpRequest) -> HttpResponse:
    """Step 4: budget, fallback order and prices (genai-prices' shown); saving creates the provider,
    or updates the one this wizard saved before (after going back)."""
    if ahead := _ahead(request, "budget"):
        return ahead
    state = _state(request)
    prices = _list_prices(state["kind"], state["fields"].get("model", ""))
    if request.method == "GET":
        form = BudgetForm(initial={"block_at_budget": True, "priority": 0, **state["fields"]})
        prices_shown(form, prices)
        return _step(request, "budget", form, prices=prices)
    form = BudgetForm(request.POST)
    prices_shown(form, prices)
    config = _saved(form, lambda data: _wizard_save(request, state, data))
    if config is None:
        return _step(request, "budget", form, status=400, prices=prices)
    fields = {**state["fields"], **form.provider_data()}
    _store(request, {**state, "fields": fields, "saved": config.pk}, 4)
    return redirect("providers:add-test")


def _wizard_save(request: HttpRequest, state: dict, budget: dict) -> ProviderConfig:
    data = {**_data(state), **budget}
    try:
        config = _own(request, state["saved"]) if state.get("saved") else None
    except Http404:  # deleted meanwhile: save it again
        config = None
    if config is None:
        return provider_create(user=request.user, data=data)
    return provider_update(config=config, data=data, partial=False)


@login_required
@require_GET
def add_test(request: HttpRequest) -> HttpResponse:
    """Step 5: the saved provider, tested on arrival (and again on demand); back changes and saves it again."""
    if ahead := _ahead(request, "test"):
        return ahead
    try:
        config = _own(request, _state(request)["saved"])
    except Http404:  # deleted meanwhile, in another tab
        request.session.pop(WIZARD, None)
        messages.error(request, "The provider this wizard saved is gone: add it again.")
        return redirect("providers:list")
    return _step(request, "test", None, config=config)


@login_required
@require_POST
def add_finish(request: HttpRequest) -> HttpResponse:
    """Leave the wizard: its answers (and the secrets in the session) are forgotten; a saved provider stays."""
    state = request.session.pop(WIZARD, None) or {}
    if state.get("saved"):
        messages.success(request, "Provider added. It is used in fallback order with your others.")
        return redirect(reverse("providers:list") + f"#provider-{state['saved']}")
    return redirect("providers:list")


# --- the usage dashboard -----------------------------------------------------------------------


@login_required
@require_GET
def usage_page(request: HttpRequest) -> HttpResponse:
    """The month's spend (``?month=YYYY-MM``), per provider against budgets, the 12-month trend and the
    most expensive conversations."""
    month, error = _month(request.GET.get("month"))
    summary = usage_summary(user=request.user, month=month)
    context = {
        "tab": "ai-usage",
        "summary": summary,
        "month": month,
        "month_error": error,
        "total": usd(summary["total_spent"]),
        "budgets": [_budget_row(row) for row in summary["budgets"]],
        "budgeted": sum(row["monthly_budget_usd"] is not None for row in summary["budgets"]),
        "breakdown": [{**row, "cost": _breakdown_cost(row)} for row in summary["cost_breakdown"]],
        "trend": _trend_bars(summary["monthly_trend"]),
        "conversations": _costliest_conversations(request.user, month),
        "previous": _shift(month, -1),
        "next": _shift(month, 1) if month < month_start() else None,
    }
    return render(request, "providers/usage.html", context, status=400 if error else 200)


def _breakdown_cost(row: dict) -> str:
    """Unknown, not $0.00, when no request of the row had a known price."""
    return "unknown" if row["unpriced_requests"] == row["requests"] else usd(row["cost_usd"])


def _budget_row(row: dict) -> dict:
    remaining = row["remaining_usd"]
    return {**row, "bar": budget_bar(row["spent_usd"], row["monthly_budget_usd"]),
            "remaining_text": usd(remaining) if remaining is not None else ""}  # fmt: skip


def _month(text: str | None) -> tuple[date, str]:
    """The month asked for, or this month and what was wrong with the ask."""
    if not text:
        return month_start(), ""
    try:
        year, number = (int(part) for part in text.split("-"))
        if len(text) != 7 or not 1970 <= year <= 9999:
            raise ValueError
        return date(year, number, 1), ""
    except ValueError:
        return month_start(), f"month: “{text[:20]}” is not a month. Use YYYY-MM, e.g. 2026-12."


def _shift(month: date, months: int) -> str:
    index = month.year * 12 + month.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _trend_bars(trend: list[dict]) -> dict:
    """The 12 months as SVG bars (each a column 100 units tall, the highest month at 90)."""
    top = max((Decimal(row["cost_usd"]) for row in trend), default=Decimal(0))
    bars = []
    for row in trend:
        cost = Decimal(row["cost_usd"])
        height = float(cost / top * 90) if top else 0.0
        height = max(height, 1.0) if cost else 0.0  # a month with any spend stays visible
        label = date(int(row["month"][:4]), int(row["month"][5:]), 1).strftime("%b")
        bars.append({**row, "y": f"{100 - height:.2f}", "height": f"{height:.2f}", "spent": bool(cost), "label": label,
                     "cost": usd(cost)})  # fmt: skip
    return {"bars": bars, "top": usd(top), "empty": not top}


def _costliest_conversations(user, month: date) -> list[dict]:
    """The month's conversations by cost, most expensive first (the assistant app links them later)."""
    rows = (
        UsageRecord.objects.filter(user=user, created_at__year=month.year, created_at__month=month.month)
        .filter(conversation_id__isnull=False)
        .values("conversation_id")
        .annotate(
            cost=Sum("cost_usd"),
            requests=Count("id"),
            tokens=Sum(F("input_tokens") + F("output_tokens")),
            last=Max("created_at"),
        )
        .order_by(F("cost").desc(nulls_last=True), "-last")[:TOP_CONVERSATIONS]
    )
    return [{**row, "cost_text": usd(row["cost"]) if row["cost"] is not None else "unknown"} for row in rows]
