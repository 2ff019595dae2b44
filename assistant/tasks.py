"""Celery tasks of the assistant (thin: ids in, the loop called)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="assistant.tasks.chat_run_task", queue="ai", acks_late=False)
def chat_run_task(message_id: int, provider_id: int | None = None, model: str | None = None) -> None:
    """Write one answer. Not acknowledged late: an answer half streamed is not started again by another
    worker (it would repeat its tool calls); a lost one ends marked incomplete by its reader's timeout."""
    from assistant.loop import chat_run

    chat_run(message_id=message_id, provider_id=provider_id, model=model)
