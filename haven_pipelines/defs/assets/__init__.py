"""The lineage graph: approved designs -> mockups -> products -> Shopify listings, plus analyst tables.

Every design-partitioned asset returns a ``MaterializeResult`` with metadata only (no IO manager
value): the data lives in the application database and the blob store, which is what lets a
backfill over hundreds of partitions run as one run.
"""
