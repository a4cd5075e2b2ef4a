"""Synthetic training data from a teacher LLM: prompts per category, an OpenAI-compatible client, filters, a
resumable run loop. `suho synth --help` shows how to run it."""

from suho.synth.client import ChatClient, ChatResult, TeacherError, Usage
from suho.synth.run import SynthConfig, SynthReport, preview, synthesize

__all__ = ["ChatClient", "ChatResult", "SynthConfig", "SynthReport", "TeacherError", "Usage", "preview", "synthesize"]
