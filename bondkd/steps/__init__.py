"""Steps: a trace's reasoning text → atomic steps with exact character spans (EN + ZH).

`segment` cuts the text, `lexicon` holds the cue words and patterns, `markers` the cues
that open a new step mid-sentence (every rule runs in linear time on any input;
tests/test_regex_linear.py feeds them adversarial repeats).

May import: base.
"""
