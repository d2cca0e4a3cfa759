// Whether the database holds any node at all (`kgrec ingest --bulk` needs an empty one: the import
// tool replaces the whole database).
OPTIONAL MATCH (n)
WITH n LIMIT 1
RETURN n IS NOT NULL AS has_nodes
