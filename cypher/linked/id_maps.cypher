// Every id-map chunk of a linked dataset.
MATCH (m:KgrecIdMap {dataset: $dataset})
RETURN m.kind AS kind, m.label AS label, m.start AS start, m.keys AS keys
ORDER BY kind, start
