"""The forms of Settings → AI providers: the add wizard's steps and the edit form.

They gather what the user typed into the API's provider fields (``provider_data``); providers.config_fields
checks them, and its errors (``ProviderInvalid.extra``, keyed by the API's field names) land on the fields
that hold them (``add_service_errors``), so that the pages and the API say the same things. A secret box
never renders a value back: what was typed stays on the server.
"""

from __future__ import annotations

from django import forms

from providers.config_fields import SECRET_FIELDS
from providers.models import ProviderConfig

Kind = ProviderConfig.Kind

# One line per kind for the wizard's first step.
KIND_NOTES = {
    Kind.OPENAI: "GPT models, with your OpenAI API key.",
    Kind.ANTHROPIC: "Claude models, with your Anthropic API key.",
    Kind.GOOGLE: "Gemini, with an API key from AI Studio, or Vertex AI with a service account.",
    Kind.BEDROCK: "Claude, Llama, Nova and more through your AWS account.",
    Kind.TOGETHER: "Open models (Llama, Qwen, DeepSeek) hosted by Together AI.",
    Kind.HUGGINGFACE: "Open models through the Hugging Face inference router.",
    Kind.MISTRAL: "Mistral's own models.",
    Kind.GROQ: "Open models on Groq's fast inference hardware.",
    Kind.OPENROUTER: "Hundreds of models from many providers behind one key.",
    Kind.OLLAMA: "Models on your own machine: no key, no cost per token.",
}
MODEL_EXAMPLES = {
    Kind.OPENAI: "gpt-4o-mini",
    Kind.ANTHROPIC: "claude-3-5-haiku-latest",
    Kind.GOOGLE: "gemini-2.0-flash",
    Kind.BEDROCK: "anthropic.claude-3-5-haiku-20241022-v1:0",
    Kind.TOGETHER: "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    Kind.HUGGINGFACE: "meta-llama/Llama-3.1-8B-Instruct",
    Kind.MISTRAL: "mistral-small-latest",
    Kind.GROQ: "llama-3.1-8b-instant",
    Kind.OPENROUTER: "openai/gpt-4o-mini",
    Kind.OLLAMA: "llama3.2",
}
PRICE_FIELDS = ("price_input_per_mtok", "price_cached_input_per_mtok", "price_output_per_mtok")
OFF = {"autocomplete": "off", "spellcheck": "false"}


class SecretTextarea(forms.Textarea):
    """A textarea that, like ``PasswordInput(render_value=False)``, never shows what was typed."""

    def format_value(self, value):
        return None


def secret_field(label: str, *, textarea: bool = False, help_text: str = "") -> forms.CharField:
    attrs = {**OFF, "autocomplete": "new-password"}
    widget = SecretTextarea(attrs={**attrs, "rows": 4}) if textarea else forms.PasswordInput(attrs=attrs)
    return forms.CharField(label=label, required=False, widget=widget, help_text=help_text, strip=True)


def text_field(label: str, *, placeholder: str = "", help_text: str = "", **attrs) -> forms.CharField:
    widget = forms.TextInput(attrs={**OFF, "placeholder": placeholder, **attrs})
    return forms.CharField(label=label, required=False, widget=widget, help_text=help_text)


def credential_fields(kind: str) -> dict[str, forms.Field]:
    """The boxes a provider of ``kind`` needs: a key; AWS keys and region; a Gemini key or Vertex's three."""
    if kind == Kind.BEDROCK:
        return {
            "aws_access_key_id": secret_field("AWS access key id"),
            "aws_secret_access_key": secret_field("AWS secret access key"),
            "aws_region": text_field("AWS region", placeholder="us-east-1"),
        }
    if kind == Kind.GOOGLE:
        return {
            "api_key": secret_field("Gemini API key", help_text="From Google AI Studio. Or fill Vertex AI's below."),
            "google_project": text_field("Vertex AI project", placeholder="my-gcp-project"),
            "google_location": text_field("Vertex AI location", placeholder="us-central1"),
            "google_credentials_json": secret_field(
                "Service account JSON key", textarea=True, help_text="The key file's whole content."
            ),
        }
    if kind == Kind.OLLAMA:
        return {"api_key": secret_field("API key (optional)", help_text="Only if a proxy in front of Ollama asks.")}
    return {"api_key": secret_field("API key")}


class ProviderFieldsForm(forms.Form):
    """What every provider form shares: the API's field names, and the service's errors on them."""

    def provider_data(self) -> dict:
        """The fields as the API takes them; an empty secret is left out (a stored one is kept)."""
        return {
            name: value.strip() if isinstance(value, str) else value
            for name, value in self.cleaned_data.items()
            if not (name in SECRET_FIELDS and not value)
        }

    def add_service_errors(self, errors: dict) -> None:
        """Put the service's errors on the fields that hold them; the rest above the form, named."""
        for key, messages in errors.items():
            field = key if key in self.fields else None
            prefix = "" if field or key == "non_field_errors" else f"{key}: "
            for message in messages if isinstance(messages, list) else [messages]:
                self.add_error(field, f"{prefix}{message}")

    @property
    def invalid_labels(self) -> list[str]:
        """The labels of the fields in error, for the banner that names them."""
        return [str(self.fields[name].label or name) for name in self.errors if name in self.fields]


class KindForm(forms.Form):
    """Step 1: which provider."""

    kind = forms.ChoiceField(label="Provider", choices=Kind.choices, widget=forms.RadioSelect)


class CredentialsForm(ProviderFieldsForm):
    """Step 2: the name, the credentials of the kind and a base URL override."""

    name = text_field("Display name", help_text="Empty: the provider's name.")

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.fields.update(credential_fields(kind))
        self.fields["base_url"] = text_field(
            "Base URL override",
            placeholder="https://…",
            help_text="Empty: the provider's own address. For a proxy or a compatible server (http:// or https://).",
            inputmode="url",
        )

    @property
    def secret_names(self) -> list[str]:
        return [name for name in self.fields if name in SECRET_FIELDS]


class ModelStepForm(ProviderFieldsForm):
    """Step 3: the default model, picked from the provider's list or typed."""

    listed = forms.CharField(required=False, label="The provider's models")
    model = text_field("Model id", help_text="Filled by a pick from the list, or type any model id it serves.")

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].widget.attrs["placeholder"] = MODEL_EXAMPLES.get(kind, "")

    def clean(self) -> dict:
        data = super().clean()
        model = (data.get("model") or "").strip() or (data.get("listed") or "").strip()
        if not model:
            self.add_error("model", "Choose a model from the list or type its id.")
        return {"model": model}


def decimal_field(label: str, placeholder: str = "") -> forms.CharField:
    """A decimal typed as text: providers.config_fields checks it, with the API's words."""
    attrs = {"inputmode": "decimal", "placeholder": placeholder, "autocomplete": "off"}
    return forms.CharField(label=label, required=False, widget=forms.TextInput(attrs=attrs))


class BudgetForm(ProviderFieldsForm):
    """Step 4 (and part of the edit form): the monthly budget, the fallback order and price overrides."""

    monthly_budget_usd = decimal_field("Monthly budget (USD)", "No budget")
    block_at_budget = forms.BooleanField(
        label="Refuse requests once the budget is reached", required=False, initial=True
    )
    priority = forms.IntegerField(
        label="Fallback order", min_value=0, initial=0, help_text="Lowest first, when a provider fails."
    )
    price_input_per_mtok = decimal_field("Input price")
    price_cached_input_per_mtok = decimal_field("Cached input price")
    price_output_per_mtok = decimal_field("Output price")


class EditForm(CredentialsForm, BudgetForm):
    """A saved provider: every field but its kind; a secret left empty keeps the stored one."""

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, kind=kind, **kwargs)
        self.fields["model"] = text_field("Model id", placeholder=MODEL_EXAMPLES.get(kind, ""))
        for name in self.secret_names:
            self.fields[name].help_text = "Stored encrypted. Leave empty to keep it; type a new one to replace it."
        self.order_fields(["name", "model", *credential_fields(kind), "base_url"])

    @property
    def groups(self) -> list[tuple[str, str, list[forms.BoundField]]]:
        return edit_groups(self)


def edit_initial(config: ProviderConfig) -> dict:
    """The edit form's values for ``config`` (never its secrets)."""
    names = ("name", "model", "base_url", "aws_region", "google_project", "google_location", "priority")
    initial = {name: getattr(config, name) for name in names}
    initial["block_at_budget"] = config.block_at_budget
    for name in ("monthly_budget_usd", *PRICE_FIELDS):
        value = getattr(config, name)
        initial[name] = "" if value is None else format(value.normalize(), "f")
    return initial


def edit_groups(form: EditForm) -> list[tuple[str, str, list[forms.BoundField]]]:
    """The edit form's fieldsets (legend, grid class, fields): provider, credentials, budget, prices."""
    budget = ("monthly_budget_usd", "priority", "block_at_budget")
    taken = {"name", "model", *budget, *PRICE_FIELDS}
    return [
        ("Provider", "", [form["name"], form["model"]]),
        ("Credentials", "", [field for field in form if field.name not in taken]),
        ("Budget", "", [form[name] for name in budget]),
        ("Prices, $ per million tokens (empty: genai-prices')", "three", [form[n] for n in PRICE_FIELDS]),
    ]


def prices_shown(form: forms.Form, prices: dict | None) -> None:
    """The list prices as the price boxes' placeholders: what an empty box means."""
    for name, key in zip(PRICE_FIELDS, ("input", "cached_input", "output"), strict=True):
        form.fields[name].widget.attrs["placeholder"] = prices[key] if prices else "unknown"
