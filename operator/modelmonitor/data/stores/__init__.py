"""The storages data sets are read from, one module each, ending in ``STORE``.

A :class:`~modelmonitor.data.source_definition.Store` names the URI schemes it serves;
``modelmonitor.data.table`` imports every module here and opens a URI with the storage of its
scheme. Adding a storage is adding a module here, and its tests.
"""
