"""Partitions: one dynamic partition per approved design, keyed by the design asset's id.

Mockups are partitioned **per design only, not design x scene**, on purpose:

- The scenes a design gets depend on its quote's collection (two to four of the five system
  scenes), and users may add private scenes. A static scene dimension would show every
  never-to-be-rendered (design, scene) pair as a missing partition forever.
- The credit gate, the approval of a product and the Shopify listing all act per design, so one
  partition per design lines the whole graph up on one key and the UI shows one row per artwork.
- A design is 2-5 renders; a backfill of hundreds of designs already runs as one run fanned out
  over the render service's bounded pool, so finer partitions would only add bookkeeping.

Per-scene detail (status, file, credits) is in each materialisation's metadata.
"""

from __future__ import annotations

import dagster as dg

DESIGNS_PARTITION = "designs"

design_partitions = dg.DynamicPartitionsDefinition(name=DESIGNS_PARTITION)
