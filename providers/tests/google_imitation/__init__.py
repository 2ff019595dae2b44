"""A local Gemini API / Vertex AI for the tests and benchmarks: `streamGenerateContent` over SSE, the
model lists and a service-account token endpoint on 127.0.0.1.

`GoogleImitation` answers scripted turns (`providers.tests.imitation_script`) in Gemini's wire format
(`wire`); `google_imitation_running` serves one from a thread of its own while a test uses it.
"""

from providers.tests.google_imitation.server import GoogleImitation, google_imitation_running

__all__ = ["GoogleImitation", "google_imitation_running"]
