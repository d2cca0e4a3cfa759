// rows: [{id, label, size, phrases}, ...]: the interests of one set, created fresh.
UNWIND $rows AS row
CREATE (:Interest {dataset: $dataset, set: $interest_set, id: row.id, label: row.label,
                   size: row.size, phrases: row.phrases})
