"""The data formats, one module each: the module's name is the format's name in the spec.

A module ends with ``FORMAT``, its :class:`~modelmonitor.data.source_definition.DataFormatDefinition`.
``modelmonitor.data.table`` imports every module here; the spec's ``DataFormat`` (and so the
CRD's enum) is the list of their names, read from this folder without importing them.
"""
