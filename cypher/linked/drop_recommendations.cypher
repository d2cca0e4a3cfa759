// Template. Every recommendation a linked dataset wrote onto the graph's nodes (when it is dropped).
MATCH (:`__user_label__`)-[r:`__relationship__`]->(:`__item_label__`)
WHERE r.dataset = $dataset
CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS
