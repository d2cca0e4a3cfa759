// Mark a dataset complete; bump its version when the load changed the graph (export caches key on it).
MATCH (d:Dataset {name: $dataset})
SET d.status = 'complete',
    d.load_finished = datetime(),
    d.version = coalesce(d.version, 0) + CASE WHEN $changed THEN 1 ELSE 0 END
RETURN d.version AS version
