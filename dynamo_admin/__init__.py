"""The Django admin over PynamoDB models: declared access patterns, cursor pages, no Scans.

A package of its own, with nothing of any one project in it; ``README.md`` beside this file
says how to install it. Split by role the way ``django.contrib.admin`` is:

- ``options``: ``DynamoModelAdmin`` (list, change, add, action and history views);
- ``sites``: ``DynamoAdminSite`` ("Recent actions" from the audit sink, no ORM models);
- ``paging``: where a list reads (``ListSource``, ``Partition``) and one page of it, in small
  functions for bounds, reads and cursors; ``cursor``: the signed page tokens;
- ``shapes``: ``dynamo_shape()``, the unmanaged Django model that gives a PynamoDB model
  its ``_meta``;
- ``declarations``: columns, searches, object actions, related lists;
- ``filters``: sidebar filters; ``forms``: form helpers;
- ``audit``: the pluggable audit sink; ``errors``: the pluggable error types; ``conf``: settings;
  ``params``: the query-string parameters the list pages own (``p``, ``q``).
"""
