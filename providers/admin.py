"""Admin for AI providers (an operator adds shared ones: no user), their monthly spend and usage records.
Secrets are write-only here as in the API: typed in, never shown; left empty, the stored ones stay."""

from django import forms
from django.contrib import admin

from providers.config_fields import SECRET_FIELDS, ProviderInvalid, provider_clean
from providers.models import ProviderConfig, ProviderMonth, UsageRecord
from providers.services import provider_secrets_store

EDITABLE = (
    "user", "kind", "name", "model", "base_url", "aws_region", "google_project", "google_location",
    "monthly_budget_usd", "block_at_budget", "priority", "enabled",
    "price_input_per_mtok", "price_cached_input_per_mtok", "price_output_per_mtok",
)  # fmt: skip


class ProviderAdminForm(forms.ModelForm):
    api_key = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))
    aws_access_key_id = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))
    aws_secret_access_key = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))
    google_credentials_json = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Vertex AI: the service account's JSON key."
    )

    class Meta:
        model = ProviderConfig
        fields = EDITABLE

    def clean(self):
        data = super().clean()
        given = {name: data[name] for name in EDITABLE if name != "user" and name in data}
        given.update({name: data[name] for name in SECRET_FIELDS if data.get(name)})
        for name in ("base_url", "aws_region", "google_project", "google_location"):
            given[name] = given.get(name) or ""
        try:
            self.checked, self.secrets = provider_clean(
                data=given, instance=self.instance if self.instance.pk else None
            )
        except ProviderInvalid as invalid:
            for name, errors in invalid.extra.items():
                self.add_error(name if name in self.fields else None, errors)
        return data


@admin.register(ProviderConfig)
class ProviderConfigAdmin(admin.ModelAdmin):
    form = ProviderAdminForm
    list_display = ("id", "name", "kind", "model", "user", "enabled", "priority", "monthly_budget_usd", "key_hint")
    list_filter = ("kind", "enabled")
    search_fields = ("=id", "name", "model", "user__username")
    raw_id_fields = ("user",)
    readonly_fields = ("key_hint", "created_at", "updated_at")

    def save_model(self, request, obj: ProviderConfig, form: ProviderAdminForm, change: bool) -> None:
        for name, value in form.checked.items():
            setattr(obj, name, value)
        provider_secrets_store(config=obj, given=form.secrets)
        obj.save()


@admin.register(ProviderMonth)
class ProviderMonthAdmin(admin.ModelAdmin):
    list_display = ("provider", "month", "spent_usd", "reserved_usd", "warned_at")
    list_select_related = ("provider",)
    readonly_fields = ("provider", "month", "spent_usd", "reserved_usd", "warned_at")


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "created_at",
        "user",
        "provider_name",
        "model",
        "status",
        "input_tokens",
        "output_tokens",
        "cost_usd",
    )
    list_filter = ("status", "provider_kind")
    search_fields = ("=id", "user__username", "provider_name", "model")
    list_select_related = ("user",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
