"""One module per kind of data source, each the field of ``DataSource`` it is named after.

A module holds ``KIND = SourceKind(open=...)``; ``modelmonitor.data.source`` imports every
module here, and the spec's ``SourceKind`` is read from this folder.
"""
