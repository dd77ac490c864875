"""The run machinery every kind of run shares, knowing nothing of where items come from.

:mod:`.lifecycle` (one run from start to end), :mod:`.march` (journal and
account index -> again / lost / skip / held / send), :mod:`.stages` (the task
group and its bounded streams), :mod:`.poll` (batched ``pinJobs``),
:mod:`.accounting` and :mod:`.events`, :mod:`.pacing`, :mod:`.concurrency`
(``--concurrency auto``), :mod:`.options` (what every run is told, one table
of defaults), :mod:`.summary` and :mod:`.errors` (one tree, one exit status).
``push`` (local trees, buckets, URLs), ``migrate`` (``pin``) and ``verify``
say only what is their own. Its modules are imported by name; this package
re-exports nothing, so importing one of them never imports a kind of run.
"""

__all__: list[str] = []
