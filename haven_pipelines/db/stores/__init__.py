"""One store module per aggregate. Every store is bound to one acting user and one connection.

A store never returns or changes another user's rows: each statement filters on ``user_id``, and a
row that belongs to someone else is reported as :class:`~haven_pipelines.domain.errors.NotFound`,
exactly as a row that does not exist.
"""
