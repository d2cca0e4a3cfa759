// rows: [[user, item, position, label, score | null], ...]: one candidate of a named list each.
UNWIND $rows AS row
MATCH (u:User {dataset: $dataset, id: row[0]})
USING INDEX u:User(dataset, id)
MATCH (i:Item {dataset: $dataset, id: row[1]})
USING INDEX i:Item(dataset, id)
CREATE (u)-[:CANDIDATE {list: $list, position: row[2], label: row[3], score: row[4]}]->(i)
RETURN count(*) AS written
