"""The OpenAPI schema's view of each endpoint: public ones say they need no authentication."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from rest_framework import permissions


class ProjectAutoSchema(AutoSchema):
    """drf-spectacular's schema, with ``security: []`` on endpoints anyone may call.

    drf-spectacular lists the authentication schemes on every operation and adds "or none" for a
    public one, which Swagger UI still draws as a padlock; an empty list says no credentials are
    needed.
    """

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is not None and self.is_public():
            operation["security"] = []
        return operation

    def is_public(self) -> bool:
        """Whether every permission of the view lets an anonymous caller use this method."""
        return all(_lets_anyone_in(p, self.method) for p in self.view.get_permissions())


def _lets_anyone_in(permission, method: str) -> bool:
    if isinstance(permission, permissions.AllowAny):
        return True
    return isinstance(permission, permissions.IsAuthenticatedOrReadOnly) and method in permissions.SAFE_METHODS
