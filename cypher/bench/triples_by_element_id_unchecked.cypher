// bench/triple_lookup.py: end nodes by elementId alone, without the writer's label and dataset
// checks (ingest/create_triples), to measure what those checks cost. Not for the product.
UNWIND $rows AS row
MATCH (h) WHERE elementId(h) = row[0]
MATCH (t) WHERE elementId(t) = row[2]
CREATE (h)-[:$(row[1])]->(t)
