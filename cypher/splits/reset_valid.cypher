// Return every 'valid' edge of one dataset to 'train' (before a forced re-draw).
MATCH (:User {dataset: $dataset})-[r:INTERACTED]->()
WHERE r.split = 'valid'
SET r.split = 'train'
