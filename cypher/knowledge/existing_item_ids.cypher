// Which of $ids are items of the dataset (so an import can report how many matched).
UNWIND $ids AS id
MATCH (i:Item {dataset: $dataset, id: id})
RETURN i.id AS id
