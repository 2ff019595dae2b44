"""The assistant's tests run each answer in a thread of the test process (as embedded mode does), also
on the full-stack settings: tests/test_assistant_full_stack.py runs them in a real Celery worker."""

import pytest


@pytest.fixture(autouse=True)
def _answers_run_here(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
