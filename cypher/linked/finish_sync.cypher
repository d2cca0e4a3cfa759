// The last statement of a sync's write transaction: the mapping, what the graph held (relation types,
// distinct item-graph triples), and a new version when anything changed (export caches key on it).
MATCH (d:Dataset {name: $dataset})
SET d.source = $source, d.linked = true, d.mapping = $mapping, d.status = 'complete',
    d.load_finished = datetime(), d.relation_types = $relation_types, d.relation_uris = $relation_types,
    d.has_kg = $has_kg, d.has_interests = coalesce(d.has_interests, false), d.fingerprint = $fingerprint,
    d.test_ratio = $test_ratio, d.split_seed = $split_seed, d.kg_triples = $kg_triples,
    d.version = coalesce(d.version, 0) + CASE WHEN $changed THEN 1 ELSE 0 END
RETURN d.version AS version
