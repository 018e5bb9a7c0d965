"""Reading: files and records in any layout → `schema.Trace` (and molecule documents back).

`files` streams JSON/JSONL/gzip records without ever dropping one, `formats` detects and
parses record layouts, `markup` finds the reasoning inside one text field, `inputs` tells
traces, molecule documents and `filter` output apart.

May import: base.
"""
