// The dataset's items that hold a vector of this run, with their titles, in id order.
MATCH (i:Item {dataset: $dataset})
WHERE i[$run_property] = $run_id AND i[$property] IS NOT NULL
RETURN i.id AS id, i.title AS title, i[$property] AS vector
ORDER BY id
