"""KGAT's file layout (amazon-book, last-fm, yelp2018), read back by ``kgrec ingest kgat``.

The same files as CIKGRec's layout (:mod:`kg_store.formats.cikg`) without the interest file,
which KGAT does not have. ``kg_final.txt`` is written plain; KGAT's published sets zip it, and
the reader takes either. Items with only Freebase ids get KGAT's ``org_id remap_id freebase_id``.
"""

from __future__ import annotations

from kg_store.formats.cikg import CikgFormat


class KgatFormat(CikgFormat):
    """KGAT's layout: interactions, KG and list files; user interests are not part of it."""

    name = "kgat"
    description = "KGAT layout: train/test, kg_final, list files (no user interests)"
    with_interests = False
