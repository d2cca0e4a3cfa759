// Mark a dataset as loading (a killed load leaves this status; a re-run completes it).
// has_kg / has_interests record which optional parts the source had.
MERGE (d:Dataset {name: $dataset})
ON CREATE SET d.created = datetime(), d.version = 0
SET d.source = $source,
    d.status = 'loading',
    d.load_started = datetime(),
    d.relation_uris = $relation_uris,
    d.relation_types = $relation_types,
    d.has_kg = $has_kg,
    d.has_interests = $has_interests
