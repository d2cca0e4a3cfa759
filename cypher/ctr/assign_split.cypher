// rows: [[user, 'train' | 'valid' | 'test'], ...]
UNWIND $rows AS row
MATCH (u:User {dataset: $dataset, id: row[0]})
USING INDEX u:User(dataset, id)
SET u.ctr_split = row[1]
RETURN count(u) AS assigned
