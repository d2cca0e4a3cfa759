// $rows: [{start, splits}]: new split codes of some chunks of a linked dataset (same length as before).
UNWIND $rows AS row
MATCH (s:KgrecSplits {dataset: $dataset, start: row.start})
SET s.splits = row.splits
