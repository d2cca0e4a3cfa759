// One named text property of every Item of the dataset, with the cache key of the vector last
// written for it; property names were checked against the allow-list in Python.
MATCH (n:Item {dataset: $dataset})
RETURN n.id AS id, n[$property] AS text, n[$sha_property] AS sha256, n[$encoder_property] AS encoder,
       n[$vector_property] IS NOT NULL AS has_vector
ORDER BY id
