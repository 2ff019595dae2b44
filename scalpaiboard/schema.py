"""The OpenAPI schema's project-wide rules, so that every endpoint is described the same way and
tells the truth: public endpoints need no credentials, every operation documents the errors it can
answer (with their bodies), optional query parameters may be sent empty, lists in a query are
comma-separated, text is described as Django reads it and filter parameters carry their bounds."""

from __future__ import annotations

from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import permissions, serializers
from rest_framework.authentication import SessionAuthentication

_MESSAGES = {"type": "array", "items": {"type": "string"}}
_ERROR = {
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, in words."},
        "request_id": {
            "type": "string",
            "description": "The id of the log line, to quote in a report: in the errors answered outside an API "
            "view (an unknown path, a 500, CSRF).",
        },
    },
    "required": ["detail"],
}

# The bodies of API errors (scalpaiboard.api): DRF's answers carry `detail` or field messages,
# those answered outside a DRF view also the request id.
ERROR_BODIES = {
    "Error": _ERROR,
    "ValidationError": {
        "type": "object",
        "description": "Each field or parameter refused, with what is allowed (`non_field_errors` for a rule "
        "between fields), or `detail` when the body could not be read.",
        "properties": {"detail": {"type": "string"}, "request_id": {"type": "string"}},
        "additionalProperties": {"anyOf": [_MESSAGES, {"type": "object"}]},
        "example": {"limit": ["Ensure this value is less than or equal to 1000."]},
    },
    "AuthenticationError": {
        "type": "object",
        "properties": {
            "detail": {"type": "string"},
            "code": {"type": "string", "description": "e.g. token_not_valid, not_authenticated"},
            "messages": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "token_class": {"type": "string"},
                        "token_type": {"type": "string"},
                        "message": {"type": "string"},
                    },
                },
            },
        },
        "required": ["detail"],
    },
    "TooManyRequests": {
        "type": "object",
        "properties": {
            "detail": {"type": "string", "description": "Which limit was reached and when to retry."},
            "retry_after": {"type": "integer", "description": "Seconds until a locked-out log-in may retry."},
        },
        "required": ["detail"],
    },
    "ServerError": {**_ERROR, "required": ["detail", "request_id"]},
}

ERROR_RESPONSES = {
    "400": ("ValidationError", "A parameter or the body is not valid; each is named with what is allowed."),
    "401": (
        "AuthenticationError",
        "Credentials are missing, wrong, or a token that is not valid (expired, tampered, blacklisted) was sent; "
        "endpoints that need no credentials refuse a bad token too.",
    ),
    "403": ("Error", "Not allowed for this user, or a session request without its CSRF token."),
    "404": ("Error", "Nothing here, e.g. an unknown coin symbol."),
    "415": ("Error", "The body is not in one of the media types above."),
    "429": ("TooManyRequests", "Too many requests (RATE_LIMIT_RPM) or log-in failures: retry after Retry-After."),
    "500": ("ServerError", "A server error, logged with the request_id."),
    # Only where a view says so (a source of data that can be unavailable):
    "503": ("Error", "A source of the answer cannot answer now; try again shortly."),
    "409": ("Error", "Not possible in the object's present state (e.g. an action already undone)."),
    "502": ("Error", "A service the answer comes from (an AI provider) refused or could not be reached."),
}

RETRY_AFTER = {
    "Retry-After": {"schema": {"type": "integer", "minimum": 0}, "description": "Seconds to wait before retrying."}
}


class ProjectAutoSchema(AutoSchema):
    """drf-spectacular's schema with the project's rules applied to every operation."""

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        if self.is_public():
            # drf-spectacular lists the schemes and adds "or none", which Swagger UI still draws as a
            # padlock; an empty list says that no credentials are needed.
            operation["security"] = []
        self._document_errors(operation["responses"], self.error_codes(operation))
        operation["responses"] = dict(sorted(operation["responses"].items()))
        return operation

    def is_public(self) -> bool:
        """Whether every permission of the view lets an anonymous caller use this method."""
        return all(_lets_anyone_in(p, self.method) for p in self.view.get_permissions())

    def error_codes(self, operation: dict) -> list[str]:
        """The error statuses this operation can answer, found from what the view is made of."""
        authenticators = self.view.get_authenticators()
        takes_input = "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", []))
        can_answer = {
            "400": takes_input,
            "401": bool(authenticators) or not self.is_public(),
            "403": self._can_forbid(authenticators),
            "404": "{" in self.path,
            "415": "requestBody" in operation,
            "429": bool(self.view.throttle_classes),
            "500": True,
        }
        return [code for code, possible in can_answer.items() if possible]

    def _can_forbid(self, authenticators: list) -> bool:
        # A session is checked for its CSRF token on writes; permissions beyond "signed in" can refuse.
        csrf = self.method not in permissions.SAFE_METHODS and any(
            isinstance(a, SessionAuthentication) for a in authenticators
        )
        return csrf or not all(isinstance(p, _SIGNED_IN_AT_MOST) for p in self.view.get_permissions())

    def _document_errors(self, responses: dict, codes: list[str]) -> None:
        """Add each error status with its body; a view that names a status itself (to say when it
        happens, with ``OpenApiResponse(description=...)``) gets the body filled in."""
        for code in codes:
            responses.setdefault(code, {"description": ERROR_RESPONSES[code][1]})
        for code, response in responses.items():
            if code in ERROR_RESPONSES and "content" not in response:
                response.update(self._error_body(code))

    def _error_body(self, code: str) -> dict:
        name = ERROR_RESPONSES[code][0]
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, schema=ERROR_BODIES[name], object=name)
        self.registry.register_on_missing(component)
        body = {"content": {"application/json": {"schema": component.ref}}}
        return {**body, "headers": RETRY_AFTER} if code == "429" else body

    def _get_parameters(self) -> list[dict]:
        parameters = super()._get_parameters()
        for parameter in parameters:
            if parameter["in"] == "query":
                _query_conventions(parameter)
        return parameters

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction == "request" and isinstance(field, serializers.CharField):
            blank = field.allow_blank or not field.trim_whitespace
            _text_as_read(schema, blank_allowed=blank)
        return schema


_SIGNED_IN_AT_MOST = (permissions.AllowAny, permissions.IsAuthenticated, permissions.IsAuthenticatedOrReadOnly)


def _lets_anyone_in(permission, method: str) -> bool:
    if isinstance(permission, permissions.AllowAny):
        return True
    return isinstance(permission, permissions.IsAuthenticatedOrReadOnly) and method in permissions.SAFE_METHODS


def _query_conventions(parameter: dict) -> None:
    """How every query parameter of this API is read: an empty value (``?min_change=``) is the
    same as leaving the parameter out (DRF's and django-filter's reading of an optional field),
    a list is one comma-separated value (``ordering=-price,rank``, ``sma=9,21``), and text has no
    NUL character."""
    if not parameter.get("required"):
        parameter["allowEmptyValue"] = True
    if parameter["schema"].get("type") == "array":
        parameter["style"], parameter["explode"] = "form", False
    _text_as_read(parameter["schema"], blank_allowed=True)


# Django's and DRF's text fields refuse NUL (PostgreSQL cannot store it) and, unless blank is
# allowed, a value that is only white space: what str.strip() takes off, spelled out because
# regex engines disagree on \s (ECMA's, which OpenAPI names, lacks U+0085 and has U+FEFF).
SPACE = r"\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NO_NUL = r"^[^\x00]*$"
NOT_BLANK_NO_NUL = rf"^[{SPACE}]*[^{SPACE}\x00][^\x00]*$"


def _text_as_read(schema: dict, *, blank_allowed: bool) -> None:
    if schema.get("type") == "string" and not {"pattern", "enum", "format"} & schema.keys():
        schema["pattern"] = NO_NUL if blank_allowed else NOT_BLANK_NO_NUL


class BoundedFilterExtension(DjangoFilterExtension):
    """django-filter parameters with the bounds their form fields enforce (minimum, maximum,
    maxLength), which drf-spectacular leaves out."""

    priority = 1
    BOUNDS = {"min_value": "minimum", "max_value": "maximum", "max_length": "maxLength"}

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(auto_schema, model, filterset_class, field_name, filter_field)
        bounds = {key: filter_field.extra[name] for name, key in self.BOUNDS.items() if name in filter_field.extra}
        for parameter in parameters:
            schema = parameter["schema"]
            (schema["items"] if schema.get("type") == "array" else schema).update(bounds)
        return parameters
