// rows: [{id, key, page, similarity, method}]: each item's Wikipedia link of a linked dataset, drawn from
// kgrec's own KgrecItemText node (made when missing); page null drops the old link without a new one.
UNWIND $rows AS row
MERGE (t:KgrecItemText {dataset: $dataset, id: row.id})
SET t.key = row.key
WITH t, row
CALL (t) {
  MATCH (t)-[old:DESCRIBED_BY]->(:WikiPage)
  DELETE old
}
WITH t, row
WHERE row.page IS NOT NULL
MATCH (p:WikiPage {title: row.page})
CREATE (t)-[:DESCRIBED_BY {similarity: row.similarity, method: row.method}]->(p)
