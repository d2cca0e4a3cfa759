// Template. How many write-back relationships of $dataset the linked graph holds.
MATCH (:`__user_label__`)-[r:`__relationship__`]->(:`__item_label__`)
WHERE r.dataset = $dataset
RETURN count(r) AS count
