"""The data-drift methods, one module each: the module's name is the method's name in the spec.

A module holds the method's statistics and ends with ``METHOD``, its
:class:`~modelmonitor.engine.drift_definition.DriftMethodDefinition`: its default threshold,
the kinds of column it measures and the forms it takes.  ``modelmonitor.engine.drift``
imports every module here and dispatches to them; the spec's ``DriftMethod`` (and so the
CRD's enum) is the list of their names, read from this folder without importing them.

Adding a method is adding a module here, and its tests.
"""
