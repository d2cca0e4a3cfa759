// The dataset's interests that hold a vector of this run (all of the one set it trained with), in id order.
MATCH (n:Interest {dataset: $dataset})
WHERE n[$run_property] = $run_id AND n[$property] IS NOT NULL
RETURN n.id AS id, n.set AS set, n.label AS label, n[$property] AS vector
ORDER BY id
