"""Serializers of the accounts API."""

from rest_framework import serializers

from scalpaiboard.accounts.models import User


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email", "date_joined"]
