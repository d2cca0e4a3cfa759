// Mark a dataset as loading (a killed load leaves this status; a re-run completes it).
// has_kg / has_interests record which optional parts the source had. `fresh`: no Dataset node
// and no node of the dataset existed before, so the writer may CREATE instead of MERGE; a load
// resumed after a crash finds the node (status 'loading') and merges.
OPTIONAL MATCH (old:Dataset {name: $dataset})
WITH old IS NULL
     AND NOT EXISTS { MATCH (n:User {dataset: $dataset}) }
     AND NOT EXISTS { MATCH (n:Item {dataset: $dataset}) }
     AND NOT EXISTS { MATCH (n:Entity {dataset: $dataset}) } AS fresh
MERGE (d:Dataset {name: $dataset})
ON CREATE SET d.created = datetime(), d.version = 0
SET d.source = $source,
    d.status = 'loading',
    d.load_started = datetime(),
    d.relation_uris = $relation_uris,
    d.relation_types = $relation_types,
    d.has_kg = $has_kg,
    d.has_interests = $has_interests
RETURN fresh
