// bench/triple_lookup.py: end nodes by the deprecated internal id(), for comparison only.
UNWIND $rows AS row
MATCH (h) WHERE id(h) = row[0]
MATCH (t) WHERE id(t) = row[2]
CREATE (h)-[:$(row[1])]->(t)
