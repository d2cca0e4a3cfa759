// $rows: [{kind, label, start, keys}]: new chunks of a linked dataset's id maps; the key at position
// k of a chunk has id start + k (ids of one kind are contiguous from 0 over all its chunks).
UNWIND $rows AS row
CREATE (:KgrecIdMap {dataset: $dataset, kind: row.kind, label: row.label, start: row.start, keys: row.keys})
