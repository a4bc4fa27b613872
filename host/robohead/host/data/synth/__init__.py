"""A realistic synthetic subject writing exactly the recorded session format."""

from robohead.host.data.synth.generate import SynthSession, synth_dataset, synth_session
from robohead.host.data.synth.subject import Subject, draw_subject

__all__ = ["Subject", "SynthSession", "draw_subject", "synth_dataset", "synth_session"]
