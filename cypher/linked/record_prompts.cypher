// rows: [[user id, response key, [item ids shown], [titles shown]], ...]: which items each interest
// prompt of a linked dataset showed, on kgrec's own node per (task, user): kgrec draws no edge to the
// owner's user nodes. The response key finds the answer in the LLM cache.
UNWIND $rows AS row
MERGE (p:KgrecPrompt {dataset: $dataset, task: $task, user: row[0]})
SET p.key = row[1], p.items = row[2], p.titles = row[3]
