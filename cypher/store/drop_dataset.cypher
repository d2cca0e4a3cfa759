// Delete every node of one dataset (its training runs, a linked dataset's id maps, splits, texts and
// prompts too) with its relationships, in bounded transactions.
CALL () {
  MATCH (n:User {dataset: $dataset}) RETURN n
  UNION ALL
  MATCH (n:Item {dataset: $dataset}) RETURN n
  UNION ALL
  MATCH (n:Entity {dataset: $dataset}) RETURN n
  UNION ALL
  MATCH (n:Interest {dataset: $dataset}) RETURN n
  UNION ALL
  MATCH (n:TrainingRun {dataset: $dataset}) RETURN n
  UNION ALL
  MATCH (n:KgrecIdMap {dataset: $dataset}) RETURN n
  UNION ALL
  MATCH (n:KgrecSplits {dataset: $dataset}) RETURN n
  UNION ALL
  MATCH (n:KgrecItemText {dataset: $dataset}) RETURN n
  UNION ALL
  MATCH (n:KgrecUserText {dataset: $dataset}) RETURN n
  UNION ALL
  MATCH (n:KgrecPrompt {dataset: $dataset}) RETURN n
  UNION ALL
  MATCH (n:Dataset {name: $dataset}) RETURN n
}
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 2000 ROWS
