// rows: [{id, page, similarity, method}]; page null drops the item's old link without a new one.
UNWIND $rows AS row
MATCH (i:Item {dataset: $dataset, id: row.id})
CALL (i) {
  MATCH (i)-[old:DESCRIBED_BY]->(:WikiPage)
  DELETE old
}
WITH i, row
WHERE row.page IS NOT NULL
MATCH (p:WikiPage {title: row.page})
CREATE (i)-[:DESCRIBED_BY {similarity: row.similarity, method: row.method}]->(p)
