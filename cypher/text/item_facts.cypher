// What an item's "facts" text is composed of (title, genres, year, IMDb plot), for items without
// a description; plus the cache key of the vector last written for it.
MATCH (n:Item {dataset: $dataset})
RETURN n.id AS id, n.title AS title, n.genres AS genres, n.year AS year, n.plot AS plot,
       n[$sha_property] AS sha256, n[$encoder_property] AS encoder, n[$vector_property] IS NOT NULL AS has_vector
ORDER BY id
