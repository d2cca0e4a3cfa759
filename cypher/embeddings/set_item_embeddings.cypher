// rows: [[item id, [float, ...]], ...]; stored as a float32 array (a typed vector property), with the run
// that wrote it, so a reader can tell a vector of the latest run from a stale one.
UNWIND $rows AS row
MATCH (n:Item {dataset: $dataset, id: row[0]})
CALL db.create.setNodeVectorProperty(n, $property, row[1])
SET n[$run_property] = $run_id
