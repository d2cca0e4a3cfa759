// rows: [[entity id, [float, ...]], ...]
UNWIND $rows AS row
MATCH (e:Entity {dataset: $dataset, id: row[0]})
SET e[$property] = row[1]
