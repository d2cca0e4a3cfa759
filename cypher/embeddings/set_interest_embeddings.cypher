// rows: [[interest id, [float, ...]], ...] of one interest set (the one the run trained with); stored as a
// float32 array (a typed vector property), with the run that wrote it, like the user and item vectors.
UNWIND $rows AS row
MATCH (n:Interest {dataset: $dataset, set: $interest_set, id: row[0]})
USING INDEX n:Interest(dataset, set, id)
CALL db.create.setNodeVectorProperty(n, $property, row[1])
SET n[$run_property] = $run_id
