// Stored text vectors of the dataset's Item nodes (null where none), in export order (by id).
MATCH (n:Item {dataset: $dataset})
RETURN n.id AS id, n[$vector_property] AS vector, n[$encoder_property] AS encoder, n[$source_property] AS source
ORDER BY id
