// rows: [[user, item], ...]: train edges that move to the validation split.
UNWIND $rows AS row
MATCH (u:User {dataset: $dataset, id: row[0]})
USING INDEX u:User(dataset, id)
MATCH (u)-[r:INTERACTED]->(i:Item {dataset: $dataset, id: row[1]})
WHERE r.split = 'train'
SET r.split = 'valid'
RETURN count(r) AS marked
