// Every interest of the dataset (all sets) as explanations read it from memory: label and distinct members.
MATCH (n:Interest {dataset: $dataset})
RETURN n.set AS set, n.id AS interest, n.label AS label,
       COLLECT { MATCH (m:User)-[:HAS_INTEREST]->(n) WITH DISTINCT m RETURN m.id } AS members
