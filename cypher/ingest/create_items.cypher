// rows: [[id, {properties}], ...]; a first load into a new dataset (ingest.writer decides): CREATE under
// the (dataset, id) uniqueness constraint, so a repeated id fails loudly instead of duplicating.
UNWIND $rows AS row
CREATE (n:Item {dataset: $dataset, id: row[0]})
SET n += row[1]
