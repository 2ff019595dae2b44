"""Settings → AI providers → Add: the five-step wizard (provider → credentials → model → budget and
prices → test).

It keeps its answers in the session, secrets as one Fernet token (providers.crypto), and never renders
a secret back into a page. Saving goes through ``providers.services``, as the API's does.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from providers.adapters.base import ProviderError
from providers.config_fields import ProviderInvalid, provider_clean
from providers.crypto import key_hint, secrets_decrypt, secrets_encrypt
from providers.forms import KIND_NOTES, BudgetForm, CredentialsForm, KindForm, ModelStepForm, prices_shown
from providers.models import ProviderConfig
from providers.services import provider_create, provider_models_preview, provider_update
from providers.views import form_saved, invalid_words, list_prices_text, own_provider

WIZARD = "providers.wizard"  # the session key of the add wizard's answers so far
STEPS = (("kind", "Provider"), ("credentials", "Credentials"), ("model", "Model"), ("budget", "Budget"),
         ("test", "Test"))  # fmt: skip
KINDS = [(value, label, KIND_NOTES[value]) for value, label in ProviderConfig.Kind.choices]


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
        context["error"] = invalid_words(invalid)
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
    prices = list_prices_text(state["kind"], state["fields"].get("model", ""))
    if request.method == "GET":
        form = BudgetForm(initial={"block_at_budget": True, "priority": 0, **state["fields"]})
        prices_shown(form, prices)
        return _step(request, "budget", form, prices=prices)
    form = BudgetForm(request.POST)
    prices_shown(form, prices)
    config = form_saved(form, lambda data: _wizard_save(request, state, data))
    if config is None:
        return _step(request, "budget", form, status=400, prices=prices)
    fields = {**state["fields"], **form.provider_data()}
    _store(request, {**state, "fields": fields, "saved": config.pk}, 4)
    return redirect("providers:add-test")


def _wizard_save(request: HttpRequest, state: dict, budget: dict) -> ProviderConfig:
    data = {**_data(state), **budget}
    try:
        config = own_provider(request, state["saved"]) if state.get("saved") else None
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
        config = own_provider(request, _state(request)["saved"])
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
