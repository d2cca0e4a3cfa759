// $rows: [{start, users, items, splits}]: new chunks of a linked dataset's interaction splits, as
// parallel lists of user id, item id and split code (0 train, 1 valid, 2 test).
UNWIND $rows AS row
CREATE (:KgrecSplits {dataset: $dataset, start: row.start, users: row.users, items: row.items,
                      splits: row.splits})
