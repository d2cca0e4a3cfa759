// For every item an interest prompt showed: the split of that user's interaction with it
// (null when the user never interacted with the item). Used to prove no valid/test item leaked.
MATCH (u:User {dataset: $dataset})-[p:PROMPTED {task: $task}]->(:LLMResponse)
UNWIND p.items AS item_id
MATCH (i:Item {dataset: $dataset, id: item_id})
OPTIONAL MATCH (u)-[e:INTERACTED]->(i)
RETURN u.id AS user, item_id AS item, e.split AS split
