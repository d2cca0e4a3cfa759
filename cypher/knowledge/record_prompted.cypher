// rows: [[user id, response key, [item ids the prompt showed]], ...]
// Which interactions each interest prompt saw, so anyone can check that only train items did.
UNWIND $rows AS row
MATCH (u:User {dataset: $dataset, id: row[0]})
MATCH (r:LLMResponse {key: row[1]})
MERGE (u)-[p:PROMPTED {task: $task}]->(r)
SET p.items = row[2]
