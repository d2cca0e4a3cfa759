// Template. Once every list of run $run_id is written: the recommendations this dataset's older runs
// left on users the new run did not cover (each batch already replaced its own users' lists).
MATCH (:`__user_label__`)-[r:`__relationship__`]->(:`__item_label__`)
WHERE r.dataset = $dataset AND r.run_id <> $run_id
CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS
